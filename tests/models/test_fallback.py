"""Fallback chains against a real HTTP provider that fails in the ways providers do."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from agent.store import Database, ConversationStore
from personas import load_persona
from tests.conftest import SettingsFactory
from tests.support.client import new_visitor
from tests.support.fake_openai import FakeOpenAI, fake_openai
from tests.support.server import running_server


@pytest.fixture
async def provider() -> AsyncIterator[FakeOpenAI]:
    async with fake_openai() as state:
        yield state


def chain_settings(make_settings: SettingsFactory, provider: FakeOpenAI, chain: list[str], **extra: object):  # type: ignore[no-untyped-def]
    models = {
        # One try each: what is under test here is the move to the next model, not retries.
        name: {"provider": "openai", "base_url": provider.base_url, "model": name, "timeout_s": 0.5, "retries": {"retries": 0}}
        for name in chain
        if name != "local"
    }
    models["local"] = {"provider": "local"}
    return make_settings(models=models, routes={r: {"chain": chain} for r in ("support", "sales", "lookup")}, **extra)


async def run_one_turn(settings, text: str) -> tuple[dict, list]:  # type: ignore[no-untyped-def]
    async with running_server(settings) as (base_url, _app), aiohttp.ClientSession() as session:
        visitor = await new_visitor(session, base_url)
        body = await visitor.send(text)
        store = ConversationStore(Database(settings.database_url))
        calls = await store.model_calls(visitor.conversation_id)
        await store.close()
        return body, calls


async def test_a_healthy_remote_model_answers(make_settings: SettingsFactory, provider: FakeOpenAI) -> None:
    body, calls = await run_one_turn(chain_settings(make_settings, provider, ["ok-primary", "local"]), "what is your return policy")
    assert body["reply"]["text"] == "echo: what is your return policy"
    assert body["reply"]["model"] == "ok-primary"
    assert [(c.model, c.outcome) for c in calls] == [("ok-primary", "ok")]
    assert calls[0].input_tokens > 0 and calls[0].output_tokens == 6
    sent = provider.requests[0]["body"]["messages"]
    assert sent[0]["role"] == "system" and "Sam" in sent[0]["content"]  # the persona reaches every model
    assert sent[-1] == {"role": "user", "content": "what is your return policy"}


@pytest.mark.parametrize(
    ("primary", "outcome"),
    [("error-500", "server_error"), ("error-429", "rate_limited"), ("slow-5", "timeout"), ("garbage", "bad_response"), ("empty", "bad_response")],
)
async def test_a_failing_model_falls_back(make_settings: SettingsFactory, provider: FakeOpenAI, primary: str, outcome: str) -> None:
    body, calls = await run_one_turn(chain_settings(make_settings, provider, [primary, "local"]), "where is my order NW-10482")
    assert body["reply"]["model"] == "local"
    assert "NW-10482" in body["reply"]["text"]
    assert body["reply"]["escalated"] is False
    assert [(c.model, c.outcome) for c in calls] == [(primary, outcome), ("local", "ok")]


async def test_an_unreachable_provider_falls_back(make_settings: SettingsFactory) -> None:
    settings = make_settings(
        models={"gone": {"provider": "openai", "base_url": "http://127.0.0.1:9/v1", "timeout_s": 1}, "local": {"provider": "local"}},
        routes={r: {"chain": ["gone", "local"]} for r in ("support", "sales", "lookup")},
    )
    body, calls = await run_one_turn(settings, "hello")
    assert body["reply"]["model"] == "local"
    assert [c.outcome for c in calls] == ["connection_error", "ok"]


async def test_an_exhausted_chain_apologises_and_waits_for_a_person(make_settings: SettingsFactory, provider: FakeOpenAI) -> None:
    settings = chain_settings(make_settings, provider, ["error-500", "slow-5"])
    async with running_server(settings) as (base_url, _app), aiohttp.ClientSession() as session:
        visitor = await new_visitor(session, base_url)
        body = await visitor.send("my tent pole snapped on the first trip")
        assert body["reply"]["escalated"] is True
        assert body["state"] == "waiting"
        assert body["reply"]["model"] is None
        assert body["reply"]["text"] == load_persona("demo").apology
        # the customer's message is kept, and the next one goes to staff, not to a model
        before = len(provider.requests)
        after = await visitor.send("hello?")
        assert after["reply"]["route"] is None and len(provider.requests) == before
        history = await visitor.history()
        assert history["messages"][0]["text"] == "my tent pole snapped on the first trip"
        store = ConversationStore(Database(settings.database_url))
        escalations = await store.escalations(visitor.conversation_id)
        await store.close()
        assert [e.reason for e in escalations] == ["chain_exhausted"]
        assert "server_error" in (escalations[0].detail or "") and "timeout" in (escalations[0].detail or "")


async def test_a_turn_over_its_deadline_apologises(make_settings: SettingsFactory, provider: FakeOpenAI) -> None:
    settings = make_settings(
        models={"slow": {"provider": "openai", "base_url": provider.base_url, "model": "slow-5", "timeout_s": 30}},
        routes={r: {"chain": ["slow"]} for r in ("support", "sales", "lookup")},
        turn_timeout_s=0.5,
    )
    body, _calls = await run_one_turn(settings, "hello")
    assert body["reply"]["escalated"] is True
    assert body["reply"]["text"] == load_persona("demo").apology

"""GET /metrics in the Prometheus text format: web chat turns through the running server, counted
by route, outcome, tool, model and escalation reason, behind the metrics token."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from agent.store import ConversationStore, Database
from tests.conftest import SettingsFactory
from tests.support.client import new_visitor
from tests.support.fake_providers import fake_providers
from tests.support.server import running_server

METRICS_TOKEN = "metrics-s3cret"
METRICS_AUTH = {"Authorization": f"Bearer {METRICS_TOKEN}"}

Sample = tuple[str, dict[str, str], float]


async def scrape(session: aiohttp.ClientSession, base_url: str) -> list[Sample]:
    async with session.get(f"{base_url}/metrics", headers=METRICS_AUTH) as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain")
        text = await response.text()
    return [(s.name, dict(s.labels), s.value) for family in text_string_to_metric_families(text) for s in family.samples]


async def calls_of(settings: Any, conversation_id: str) -> list[Any]:
    store = ConversationStore(Database(settings.database_url))
    try:
        return await store.model_calls(conversation_id)
    finally:
        await store.close()


def total(samples: list[Sample], name: str, **labels: str) -> float:
    return sum(value for n, got, value in samples if n == name and all(got.get(k) == v for k, v in labels.items()))


async def test_turns_tools_models_and_escalations_are_counted_as_they_were_sent(
    make_settings: SettingsFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SWITCHBOARD_METRICS_TOKEN", METRICS_TOKEN)
    settings = make_settings()
    async with running_server(settings) as (base_url, _app), aiohttp.ClientSession() as session:
        assert total(await scrape(session, base_url), "switchboard_turns_total") == 0
        shopper = await new_visitor(session, base_url)
        asked = await shopper.send("where is my order NW-10482?")
        assert "email address" in asked["reply"]["text"]  # the demo asks for proof first
        found = await shopper.send("ana@example.com")
        assert "has shipped" in found["reply"]["text"]
        caller = await new_visitor(session, base_url)
        assert (await caller.send("can I talk to a real person"))["reply"]["escalated"]
        relayed = await caller.send("hello? anyone there?")  # waiting for a person: relayed, not answered
        assert relayed["reply"]["route"] is None

        samples = await scrape(session, base_url)
        async with session.get(f"{base_url}/api/metrics/models", headers=METRICS_AUTH) as response:
            snapshot = await response.json()

    assert snapshot["tools"]["lookup_order"]["outcomes"] == {"needs_verification": 1, "ok": 1}  # the JSON counts them too
    assert total(samples, "switchboard_turns_total") == 4
    assert total(samples, "switchboard_turns_total", channel="web", route="lookup", outcome="answered") == 2
    assert total(samples, "switchboard_turns_total", route="support", tier="rule", outcome="escalated") == 1
    assert total(samples, "switchboard_turns_total", route="none", tier="none", outcome="relayed") == 1
    assert total(samples, "switchboard_turn_duration_seconds_count", channel="web") == 4
    assert total(samples, "switchboard_turn_duration_seconds_count", outcome="relayed") == 1
    assert total(samples, "switchboard_escalations_total") == 1
    assert total(samples, "switchboard_escalations_total", reason="customer_request") == 1

    # The first message was asked for proof (lookup_order refused), the second verified and looked it up.
    assert total(samples, "switchboard_tool_calls_total", tool="lookup_order", outcome="needs_verification") == 1
    assert total(samples, "switchboard_tool_calls_total", tool="lookup_order", outcome="ok") == 1
    assert total(samples, "switchboard_tool_calls_total", tool="verify_customer", outcome="ok") == 1
    assert total(samples, "switchboard_tool_calls_total") == 3
    assert total(samples, "switchboard_tool_call_duration_seconds_count", tool="lookup_order") == 2

    # Every model call the turns stored, all to the local model; the escalation and the relay ran none.
    stored = [call for conversation in (shopper, caller) for call in await calls_of(settings, conversation.conversation_id)]
    assert len(stored) >= 2 and all(call.model == "local" and call.outcome == "ok" for call in stored)
    local = {"gen_ai_provider_name": "local", "gen_ai_request_model": "local"}
    assert total(samples, "gen_ai_client_operation_duration_seconds_count") == len(stored)
    assert total(samples, "gen_ai_client_operation_duration_seconds_count", outcome="ok", **local) == len(stored)
    assert total(samples, "switchboard_retrieval_duration_seconds_count") >= 2  # each lookup turn searched the knowledge base
    assert total(samples, "switchboard_breaker_open", model="local", deployment="local") == 0
    assert ("switchboard_breaker_open", {"model": "local", "deployment": "local"}, 0.0) in samples
    assert total(samples, "switchboard_outbox_pending") == 0  # web chat replies are pushed, never owed
    assert total(samples, "switchboard_outbox_oldest_age_seconds") == 0

    conversations = {shopper.conversation_id, caller.conversation_id}
    assert not [s for s in samples if conversations & set(s[1].values())]


async def test_model_tokens_time_to_first_token_and_cost_by_route(make_settings: SettingsFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SWITCHBOARD_METRICS_TOKEN", METRICS_TOKEN)
    monkeypatch.setenv("FAKE_ANTHROPIC_KEY", "sk-ant-test")
    async with fake_providers() as fake:
        settings = make_settings(
            models={
                "claude": {"provider": "anthropic", "base_url": fake.anthropic_url, "model": "ok", "api_key_env": "FAKE_ANTHROPIC_KEY",
                           "price_as": "claude-3-5-haiku-latest"},
                "local": {"provider": "local"},
            },
            routes={r: {"chain": ["claude", "local"]} for r in ("support", "sales", "lookup")},
        )  # fmt: skip
        async with running_server(settings) as (base_url, _app), aiohttp.ClientSession() as session:
            visitor = await new_visitor(session, base_url)
            body = await visitor.send("what is your return policy")
            assert body["reply"]["model"] == "claude"
            samples = await scrape(session, base_url)

    claude = {"gen_ai_provider_name": "anthropic", "gen_ai_request_model": "claude"}
    assert total(samples, "gen_ai_client_operation_duration_seconds_count", outcome="ok", **claude) == 1
    assert total(samples, "gen_ai_client_token_usage_count", gen_ai_token_type="input", **claude) == 1
    assert total(samples, "gen_ai_client_token_usage_sum", gen_ai_token_type="input", **claude) > 0
    assert total(samples, "gen_ai_client_token_usage_sum", gen_ai_token_type="output", **claude) > 0
    assert total(samples, "switchboard_model_time_to_first_token_seconds_count", **claude) == 1
    [route] = {labels["route"] for name, labels, _ in samples if name == "switchboard_turns_total"}
    assert total(samples, "switchboard_model_cost_usd_total", gen_ai_request_model="claude", route=route) > 0


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}])
async def test_metrics_need_the_token(make_settings: SettingsFactory, monkeypatch: pytest.MonkeyPatch, headers: dict[str, str]) -> None:
    monkeypatch.setenv("SWITCHBOARD_METRICS_TOKEN", METRICS_TOKEN)
    async with (
        running_server(make_settings()) as (base_url, _app),
        aiohttp.ClientSession() as session,
        session.get(f"{base_url}/metrics", headers=headers) as response,
    ):
        assert response.status == 401
        body: dict[str, Any] = await response.json()
    assert body["error"]["code"] == "unauthorized"


async def test_metrics_are_off_without_a_token(make_settings: SettingsFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SWITCHBOARD_METRICS_TOKEN", raising=False)
    async with (
        running_server(make_settings()) as (base_url, _app),
        aiohttp.ClientSession() as session,
        session.get(f"{base_url}/metrics", headers=METRICS_AUTH) as response,
    ):
        assert response.status == 404
        body: dict[str, Any] = await response.json()
    assert body["error"]["code"] == "metrics_disabled"


async def test_two_apps_in_one_process_count_apart(make_settings: SettingsFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SWITCHBOARD_METRICS_TOKEN", METRICS_TOKEN)
    settings = make_settings()
    async with running_server(settings) as (first_url, _a), running_server(settings) as (second_url, _b), aiohttp.ClientSession() as session:
        visitor = await new_visitor(session, first_url)
        await visitor.send("what is your return policy")
        assert total(await scrape(session, first_url), "switchboard_turns_total") == 1
        assert total(await scrape(session, second_url), "switchboard_turns_total") == 0

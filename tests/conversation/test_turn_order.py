"""Queued messages: each gets its own answer, and turns run in the order messages were stored.

On one process (SQLite and PostgreSQL) and on two processes sharing PostgreSQL and Redis.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from agent.settings import Settings
from agent.store import Database, ConversationStore
from tests.conftest import SettingsFactory
from tests.support.client import Visitor, new_visitor
from tests.support.fake_openai import FakeOpenAI, fake_openai
from tests.support.server import running_server
from tests.support.services import cluster_settings, fresh_postgres_database

QUESTIONS = [
    "where is my order NW-10482?",
    "what is your return policy",
    "how much is the Ridgeline boot?",
    "do you ship to Canada?",
    "my tent pole snapped",
    "what are your opening hours",
]


@pytest.fixture
async def provider() -> AsyncIterator[FakeOpenAI]:
    async with fake_openai() as state:
        yield state


def slow_echo(make_settings: SettingsFactory, provider: FakeOpenAI, seconds: float, **extra: Any) -> Settings:
    """Every route answered by a model that echoes the last user message after `seconds`."""
    model = {"provider": "openai", "base_url": provider.base_url, "model": f"slow-{seconds}", "timeout_s": 10}
    return make_settings(
        models={"slow": model}, routes={r: {"chain": ["slow"]} for r in ("support", "sales", "lookup")}, **extra
    )


async def post(visitor: Visitor, text: str, **extra: Any) -> dict[str, Any]:
    async with visitor.session.post(f"{visitor.url}/messages", json={"text": text, **extra}, headers=visitor.headers) as r:
        assert r.status == 200, await r.text()
        return await r.json()


async def stored_turns(settings: Settings, conversation_id: str) -> list[tuple[int, int | None]]:
    """(inbound message id, reply message id) of every turn, in the order the turns were written."""
    store = ConversationStore(Database(settings.database_url))
    try:
        return [(t.inbound_message_id, t.reply_message_id) for t in await store.turns(conversation_id)]
    finally:
        await store.close()


def inversions(turns: list[tuple[int, int | None]]) -> int:
    inbound = [t[0] for t in turns]
    return sum(1 for i in range(len(inbound)) for j in range(i + 1, len(inbound)) if inbound[i] > inbound[j])


async def test_messages_written_while_a_slow_model_answers_each_get_their_own_answer(
    make_settings: SettingsFactory, provider: FakeOpenAI
) -> None:
    settings = slow_echo(make_settings, provider, 1.0)
    texts = QUESTIONS[:3]
    async with running_server(settings) as (base_url, _app), aiohttp.ClientSession() as http:
        visitor = await new_visitor(http, base_url)
        sends = []
        for text in texts:
            sends.append(asyncio.create_task(post(visitor, text)))
            await asyncio.sleep(0.2)  # the customer writes again while the first answer is being written
        bodies = await asyncio.gather(*sends)
    assert [b["reply"]["text"] for b in bodies] == [f"echo: {t}" for t in texts]
    # Each model request ends with its own turn's message, never a later one.
    assert [r["body"]["messages"][-1]["content"] for r in provider.requests] == texts
    # And it saw the earlier messages and answers, in order.
    last = provider.requests[-1]["body"]["messages"][1:]
    assert [m["content"] for m in last] == [texts[0], f"echo: {texts[0]}", texts[1], f"echo: {texts[1]}", texts[2]]


async def test_the_local_model_answers_each_queued_question_not_the_newest(make_settings: SettingsFactory) -> None:
    settings = make_settings()
    async with running_server(settings) as (base_url, _app), aiohttp.ClientSession() as http:
        hasty = await new_visitor(http, base_url)
        bodies = await asyncio.gather(*(post(hasty, text) for text in QUESTIONS))
        bodies.sort(key=lambda body: body["message"]["id"])
        asked = [body["message"]["text"] for body in bodies]
        # The answers as a customer gets them who waits for each one before asking the next.
        patient = await new_visitor(http, base_url)
        expected = [(await post(patient, text))["reply"]["text"] for text in asked]
    assert len(set(expected)) == len(QUESTIONS)  # the questions really have different answers
    assert [body["reply"]["text"] for body in bodies] == expected


async def burst(visitors: list[Visitor], count: int) -> list[dict[str, Any]]:
    """`count` messages at once into one conversation, taking turns between the visitors' servers."""
    return await asyncio.gather(
        *(post(visitors[i % len(visitors)], f"{QUESTIONS[i % len(QUESTIONS)]} ({i})") for i in range(count))
    )


def check_burst(bodies: list[dict[str, Any]], turns: list[tuple[int, int | None]], count: int) -> None:
    assert len(turns) == count
    assert inversions(turns) == 0
    # Each message answered exactly once, by the answer its own request got back.
    assert sorted(t[0] for t in turns) == sorted(b["message"]["id"] for b in bodies)
    assert {b["message"]["id"]: b["reply"]["message"]["id"] for b in bodies} == dict(turns)


NO_REPEAT = {"on_repeat": False}
UNLIMITED = {"enabled": False}  # one client sends the whole burst


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_a_burst_into_one_conversation_runs_in_stored_order_on_one_process(
    make_settings: SettingsFactory, backend: str
) -> None:
    async def run(settings: Settings) -> None:
        async with running_server(settings) as (base_url, _app), aiohttp.ClientSession() as http:
            visitor = await new_visitor(http, base_url)
            bodies = await burst([visitor], 40)
        check_burst(bodies, await stored_turns(settings, visitor.conversation_id), 40)

    if backend == "sqlite":
        await run(make_settings(escalation=NO_REPEAT, rate_limits=UNLIMITED))
    else:
        async with fresh_postgres_database() as database_url:
            await run(make_settings(database={"url": database_url}, escalation=NO_REPEAT, rate_limits=UNLIMITED))


async def test_a_burst_alternating_between_two_processes_runs_in_stored_order(make_settings: SettingsFactory) -> None:
    async with cluster_settings(make_settings, escalation=NO_REPEAT, rate_limits=UNLIMITED) as settings:
        async with running_server(settings) as (first, _a), running_server(settings) as (second, _b):
            async with aiohttp.ClientSession() as http:
                visitor = await new_visitor(http, first)
                other = Visitor(http, second, visitor.conversation_id, visitor.token)
                bodies = await burst([visitor, other], 40)
        check_burst(bodies, await stored_turns(settings, visitor.conversation_id), 40)


async def test_one_client_message_id_sent_many_times_at_once_runs_one_turn(
    make_settings: SettingsFactory, provider: FakeOpenAI
) -> None:
    async with fresh_postgres_database() as database_url:
        settings = slow_echo(make_settings, provider, 0.3, database={"url": database_url}, rate_limits=UNLIMITED)
        async with running_server(settings) as (base_url, _app), aiohttp.ClientSession() as http:
            visitor = await new_visitor(http, base_url)
            bodies = await asyncio.gather(
                *(post(visitor, "what is your return policy", client_message_id="retry-1") for _ in range(50))
            )
        assert {b["reply"]["message"]["id"] for b in bodies} == {bodies[0]["reply"]["message"]["id"]}
        assert {b["reply"]["text"] for b in bodies} == {"echo: what is your return policy"}
        assert len(provider.requests) == 1
        assert len(await stored_turns(settings, visitor.conversation_id)) == 1

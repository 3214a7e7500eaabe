"""Web chat shows the answer as it is written; the reply is stored once, complete, and a
stream that breaks midway is dropped for the next model's answer."""

from __future__ import annotations

from typing import Any

import aiohttp

from agent.store import Database, ConversationStore
from tests.conftest import SettingsFactory
from tests.support.client import Visitor, new_visitor
from tests.support.fake_providers import fake_providers
from tests.support.server import running_server


async def turn_events(session: aiohttp.ClientSession, visitor: Visitor, text: str) -> list[dict[str, Any]]:
    ws_url = f"{visitor.url}/ws?token={visitor.token}".replace("http://", "ws://")
    async with session.ws_connect(ws_url) as socket:
        await visitor.send(text)
        events: list[dict[str, Any]] = []
        while not any(e["type"] == "message" and e["message"]["role"] in ("bot", "system") for e in events):
            events.append(await socket.receive_json(timeout=5))
    return events


async def test_a_broken_stream_is_dropped_and_the_backup_streams_instead(make_settings: SettingsFactory) -> None:
    async with fake_providers() as fake:
        def model(name: str) -> dict[str, Any]:
            return {"provider": "anthropic", "base_url": fake.anthropic_url, "model": name, "retries": {"retries": 0}}

        settings = make_settings(
            models={"breaks": model("drop+reply-this_answer_never_finishes_being_written"), "backup": model("reply-Returns_are_free_within_60_days."), "local": {"provider": "local"}},
            routes={r: {"chain": ["breaks", "backup", "local"]} for r in ("support", "sales", "lookup")},
        )
        async with running_server(settings) as (base_url, _app), aiohttp.ClientSession() as session:
            visitor = await new_visitor(session, base_url)
            events = await turn_events(session, visitor, "what is your return policy")
            kinds = [e["type"] for e in events]
            reset = kinds.index("delta_reset")
            before = "".join(e["text"] for e in events[:reset] if e["type"] == "delta")
            after = "".join(e["text"] for e in events[reset:] if e["type"] == "delta")
            assert before and "this answer never" in before  # it had started, then broke off
            assert after == "Returns are free within 60 days." == events[-1]["message"]["text"]
            history = await visitor.history()
            assert [m["text"] for m in history["messages"]] == ["what is your return policy", "Returns are free within 60 days."]
            store = ConversationStore(Database(settings.database_url))
            calls = await store.model_calls(visitor.conversation_id)
            await store.close()
            assert [(c.model, c.outcome) for c in calls] == [("breaks", "connection_error"), ("backup", "ok")]
            assert calls[1].ttft_ms is not None and calls[1].ttft_ms <= calls[1].latency_ms


async def test_when_every_stream_breaks_the_customer_gets_the_honest_message(make_settings: SettingsFactory) -> None:
    async with fake_providers() as fake:
        settings = make_settings(
            models={"breaks": {"provider": "openai", "base_url": fake.openai_url, "model": "truncate+reply-half_of_an_answer", "retries": {"retries": 0}}},
            routes={r: {"chain": ["breaks"]} for r in ("support", "sales", "lookup")},
        )
        async with running_server(settings) as (base_url, _app), aiohttp.ClientSession() as session:
            visitor = await new_visitor(session, base_url)
            events = await turn_events(session, visitor, "what is your return policy")
            assert "delta_reset" in [e["type"] for e in events]
            final = events[-1]["message"]
            assert "half of" not in final["text"]  # the broken half is never stored or shown as the answer
            history = await visitor.history()
            assert history["state"] == "waiting" and history["messages"][-1]["text"] == final["text"]

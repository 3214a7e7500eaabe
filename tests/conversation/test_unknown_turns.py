"""Turns the router cannot place: the configured fallback, then a person after N in a row."""

from __future__ import annotations

import aiohttp

from agent.store import Database, ConversationStore
from personas import load_persona
from tests.conftest import SettingsFactory
from tests.support.client import new_visitor
from tests.support.server import running_server

NONSENSE = ["zxqv plorth wibble gronk snarf", "blorp fizzwang quuxly marn tesh", "vrell oomph gazzle trimp yonk"]


async def test_three_unplaceable_turns_in_a_row_go_to_a_person(make_settings: SettingsFactory) -> None:
    settings = make_settings()
    async with running_server(settings) as (base_url, _app), aiohttp.ClientSession() as session:
        visitor = await new_visitor(session, base_url)
        replies = [await visitor.send(text) for text in NONSENSE]
        assert [r["reply"]["escalated"] for r in replies] == [False, False, True]
        assert replies[2]["reply"]["text"] == load_persona("demo").escalation
        store = ConversationStore(Database(settings.database_url))
        escalations = await store.escalations(visitor.conversation_id)
        turns = await store.turns(visitor.conversation_id)
        await store.close()
        assert [e.reason for e in escalations] == ["not_understood"]
        assert [t.intent for t in turns] == ["unknown", "unknown", "unknown"]


async def test_a_placed_turn_resets_the_count(make_settings: SettingsFactory) -> None:
    async with running_server(make_settings()) as (base_url, _app), aiohttp.ClientSession() as session:
        visitor = await new_visitor(session, base_url)
        await visitor.send(NONSENSE[0])
        await visitor.send(NONSENSE[1])
        await visitor.send("what is your return policy")
        replies = [await visitor.send(text) for text in NONSENSE]
        assert [r["reply"]["escalated"] for r in replies] == [False, False, True]


async def test_clarify_asks_again_without_a_model(make_settings: SettingsFactory) -> None:
    settings = make_settings(routing={"unknown_action": "clarify"})
    async with running_server(settings) as (base_url, _app), aiohttp.ClientSession() as session:
        visitor = await new_visitor(session, base_url)
        body = await visitor.send(NONSENSE[0])
        assert body["reply"]["text"] == load_persona("demo").clarify
        assert body["reply"]["model"] is None and body["reply"]["escalated"] is False
        assert "NW-10482" in (await visitor.send("where is my order NW-10482"))["reply"]["text"]


async def test_the_model_tier_places_what_the_classifier_could_not(make_settings: SettingsFactory) -> None:
    from tests.support.fake_openai import fake_openai

    async with fake_openai() as provider:
        settings = make_settings(
            models={
                "judge": {"provider": "openai", "base_url": provider.base_url, "model": "reply-Intent: pricing"},
                "local": {"provider": "local"},
            },
            routing={"model_tier": "judge"},
        )
        async with running_server(settings) as (base_url, _app), aiohttp.ClientSession() as session:
            visitor = await new_visitor(session, base_url)
            body = await visitor.send(NONSENSE[0])
            placed = await visitor.send("where is my order NW-10482")
        assert body["reply"]["route"] == "sales"
        assert placed["reply"]["route"] == "lookup"
        assert len(provider.requests) == 1  # only the unplaced turn asked the model
        prompt = provider.requests[0]["body"]["messages"][-1]["content"]
        assert NONSENSE[0] in prompt and "order_status" in prompt
        store = ConversationStore(Database(settings.database_url))
        turns = await store.turns(visitor.conversation_id)
        await store.close()
        assert [(t.intent, t.tier) for t in turns] == [("pricing", "model"), ("order_status", "classifier")]

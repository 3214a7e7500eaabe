"""Slack messages written while a slow model answers, or sent to two processes: each gets its own answer, in order."""

from __future__ import annotations

import asyncio
import json

import aiohttp
from sqlmodel import select

from agent.store import Database, ConversationStore
from agent.store.tables import Conversation
from tests.channels.slack.conftest import FAST_OUTBOX, SlackRig, rig_with_model
from tests.conftest import SettingsFactory
from tests.support.fake_openai import FakeOpenAI
from tests.support.fake_slack import FakeSlack, dm, event_callback, signed
from tests.support.server import running_server
from tests.support.services import cluster_settings

QUESTIONS = ["where is my order NW-10482?", "what is your return policy", "how much is the Ridgeline boot?"]


async def test_each_queued_dm_is_answered_with_its_own_answer_in_order(
    slack_env: None, api: FakeSlack, openai: FakeOpenAI, make_settings: SettingsFactory
) -> None:
    async with rig_with_model(api, openai, make_settings, "slow-1.0") as rig:
        for n, text in enumerate(QUESTIONS):
            response = await rig.post_event(dm(text, ts=f"1700000300.00010{n}"), event_id=f"EvQ{n}")
            assert response.status == 200
            await asyncio.sleep(0.2)  # the customer writes again while the first answer is being written
        posts = await rig.api.wait_for("chat.postMessage", len(QUESTIONS))
    assert [p.params["text"] for p in posts] == [f"echo: {text}" for text in QUESTIONS]
    assert [r["body"]["messages"][-1]["content"] for r in openai.requests] == QUESTIONS


async def test_events_sent_in_order_to_two_processes_run_their_turns_in_that_order(
    slack_env: None, api: FakeSlack, make_settings: SettingsFactory
) -> None:
    async with cluster_settings(
        make_settings, slack={"api_base_url": api.base_url}, outbox=FAST_OUTBOX, escalation={"on_repeat": False}
    ) as settings:
        async with running_server(settings) as (first, _a), running_server(settings) as (second, _b):
            async with aiohttp.ClientSession() as http:
                for n in range(30):
                    body = json.dumps(event_callback(dm(f"{QUESTIONS[n % 3]} ({n})", ts=f"1700000400.{n:06d}"), f"EvB{n}"))
                    async with http.post(f"{(first, second)[n % 2]}/slack/events", data=body.encode(), headers=signed(body)) as r:
                        assert r.status == 200
                posts = await api.wait_for("chat.postMessage", 30, timeout=30)
        store = ConversationStore(Database(settings.database_url))
        try:
            [conversation] = await store_conversations(store)
            turns = await store.turns(conversation)
            messages = {m.id: m.text for m in await store.messages(conversation, limit=1000)}
        finally:
            await store.close()
    asked = [messages[t.inbound_message_id] for t in turns]
    assert asked == [f"{QUESTIONS[n % 3]} ({n})" for n in range(30)]
    assert len({p.params["text"] for p in posts}) >= 3 and len(posts) == 30


async def store_conversations(store: ConversationStore) -> list[str]:
    return [c.id for c in await store.database.run(lambda s: list(s.exec(select(Conversation)).all()))]


async def test_a_flood_of_dms_answered_by_the_local_model_gets_each_its_own_answer(rig: SlackRig) -> None:
    questions = QUESTIONS + ["do you ship to Canada?", "my tent pole snapped", "what are your opening hours"]
    # Asked at once: the order they are stored in is the order they are answered in.
    await asyncio.gather(
        *(rig.post_event(dm(q, ts=f"1700000500.{n:06d}"), event_id=f"EvF{n}") for n, q in enumerate(questions))
    )
    hasty = await rig.api.wait_for("chat.postMessage", len(questions))
    asked = [m.text for m in await rig.messages() if m.role == "customer"]
    # The same questions in that order from a customer who waits for each answer.
    for n, question in enumerate(asked):
        await rig.post_event(dm(question, ts=f"1700000600.{n:06d}", channel="D0DM00002"), event_id=f"EvP{n}")
        await rig.api.wait_for("chat.postMessage", len(questions) + n + 1)
    patient = rig.api.of("chat.postMessage")[len(questions):]
    assert len({p.params["text"] for p in patient}) == len(questions)
    assert [p.params["text"] for p in hasty] == [p.params["text"] for p in patient]

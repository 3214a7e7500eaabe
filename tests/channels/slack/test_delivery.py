"""Answers to Slack leave through the outbox: a Slack outage or a rate limit delays them, never loses them."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import timedelta

import aiohttp

from agent.contracts import InboundMessage, utcnow
from agent.store import Database, ConversationStore
from agent.store.migrate import upgrade
from agent.store.outbox import OutboxStore
from tests.channels.slack.conftest import FAST_OUTBOX, SlackRig
from tests.conftest import SettingsFactory
from tests.support.fake_slack import FakeSlack, dm, event_callback, signed
from personas import load_persona
from tests.support.server import running_server


async def outbox_rows(rig: SlackRig, conversation_id: str) -> list[tuple[str, int]]:
    database = Database(rig.settings.database_url)
    try:
        return [(r.status, r.attempts) for r in await OutboxStore(database).items(conversation_id)]
    finally:
        await database.dispose()


async def test_an_answer_waits_out_a_slack_outage_and_is_delivered_once(rig: SlackRig) -> None:
    rig.api.down = True
    started = time.monotonic()
    response = await rig.post_event(dm("what's your return policy", ts="1700001000.000100"))
    assert response.status == 200 and time.monotonic() - started < 3  # acknowledged while Slack is down

    while rig.api.refused < 3:  # the outbox keeps trying
        await asyncio.sleep(0.05)
    [conversation] = await rig.conversations()
    [(status, attempts)] = await outbox_rows(rig, conversation.id)
    assert status in ("pending", "sending") and attempts >= 3

    rig.api.down = False
    [post] = await rig.api.wait_for("chat.postMessage")
    assert post.params["channel"] == "D0DM00001" and "return" in post.params["text"].lower()
    await asyncio.sleep(0.3)
    assert len(rig.api.posts) == 1
    [(status, attempts)] = await outbox_rows(rig, conversation.id)
    assert status == "sent" and attempts >= 4


async def test_a_rate_limit_is_waited_out_for_as_long_as_slack_asks(rig: SlackRig) -> None:
    rig.api.faults = ["429:1"]  # backoff alone would try again within 0.05 s
    await rig.post_event(dm("hi there", ts="1700001100.000100"))
    [post] = await rig.api.wait_for("chat.postMessage")
    [(fault, limited_at)] = rig.api.faulted
    assert fault == "429:1"
    assert post.at - limited_at >= 0.95


async def test_a_dropped_connection_and_a_server_error_are_retried(rig: SlackRig) -> None:
    rig.api.faults = ["drop", "500"]
    await rig.post_event(dm("hello", ts="1700001200.000100"))
    [post] = await rig.api.wait_for("chat.postMessage")
    assert [f for f, _ in rig.api.faulted] == ["drop", "500"]
    assert post.params["channel"] == "D0DM00001"


async def test_a_permanent_slack_error_is_not_retried(rig: SlackRig) -> None:
    rig.api.faults = ["channel_not_found"]
    await rig.post_event(dm("hello", ts="1700001300.000100"))
    [conversation] = await rig.conversations()
    for _ in range(100):
        rows = await outbox_rows(rig, conversation.id)
        if rows and rows[0][0] == "failed":
            break
        await asyncio.sleep(0.05)
    assert rows == [("failed", 1)]
    assert rig.api.posts == []


async def test_messages_stored_before_a_crash_are_answered_at_start_up_and_a_stale_one_goes_to_staff(
    slack_env: None, api: FakeSlack, make_settings: SettingsFactory
) -> None:
    settings = make_settings(slack={"api_base_url": api.base_url}, outbox=FAST_OUTBOX)
    await asyncio.to_thread(upgrade, settings.database_url)
    # The last things a process did before it died: store (and acknowledge) DMs, and no more.
    database = Database(settings.database_url)
    store = ConversationStore(database)
    for user, dm_id, text, ts, age in [
        ("U0CUSTOMER", "D0DM00001", "where is my order NW-10482?", "1700001400.000100", timedelta(minutes=2)),
        ("U0OTHER", "D0DM00002", "what is your return policy", "1700001401.000100", timedelta(0)),
        ("U0LATE", "D0DM00003", "do you ship to Canada?", "1700001402.000100", timedelta(hours=2)),
    ]:
        await store.save_inbound(InboundMessage(
            "slack", user, f"T0TEAM001:{dm_id}", text, provider_message_id=ts, received_at=utcnow() - age,
        ))
    persona = load_persona(settings.persona)

    async with running_server(settings) as (base_url, _app), aiohttp.ClientSession() as http:
        # The first customer writes again the moment the server is back: the old message goes first.
        body = json.dumps(event_callback(dm("and how much is the Ridgeline boot?", ts="1700001500.000100"), "EvAfter"))
        async with http.post(f"{base_url}/slack/events", data=body.encode(), headers=signed(body)) as response:
            assert response.status == 200
        posts = await api.wait_for("chat.postMessage", 4)
        first_customer = [p.params["text"] for p in posts if p.params["channel"] == "D0DM00001"]
        assert len(first_customer) == 2
        assert "NW-10482" in first_customer[0] and "Ridgeline" in first_customer[1]
        by_channel = {p.params["channel"]: p.params["text"] for p in posts}
        assert "return" in by_channel["D0DM00002"].lower()
        # Two hours late, an answer would be out of place: an apology, and a person follows up.
        assert by_channel["D0DM00003"] == persona.missed
        late = await store.conversation_by_key("slack", "T0TEAM001:D0DM00003")
        assert late is not None and late.state == "waiting"
        assert [e.reason for e in await store.escalations(late.id)] == ["missed_message"]
    assert len(api.posts) == 4
    await database.dispose()


async def test_a_message_another_process_left_unanswered_is_found_by_the_sweep(
    slack_env: None, api: FakeSlack, make_settings: SettingsFactory
) -> None:
    settings = make_settings(slack={"api_base_url": api.base_url}, outbox=FAST_OUTBOX, recovery={"orphaned_after_s": 1})
    async with running_server(settings):
        # Stored by a process that died before answering it, after this one had started.
        database = Database(settings.database_url)
        await ConversationStore(database).save_inbound(InboundMessage(
            "slack", "U0CUSTOMER", "T0TEAM001:D0DM00001", "where is my order NW-10482?",
            provider_message_id="1700001600.000100", received_at=utcnow() - timedelta(seconds=2),
        ))
        await database.dispose()
        [answer] = await api.wait_for("chat.postMessage", 1, timeout=20)
    assert "NW-10482" in answer.params["text"]

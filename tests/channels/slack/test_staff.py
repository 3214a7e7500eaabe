"""Staff in Slack: escalations in the staff channel, claims by button, answers from the thread."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from agent.store import Database
from agent.store.slack import SlackStore
from personas import load_persona
from tests.channels.slack.conftest import STAFF_CHANNEL, SlackRig
from tests.support.fake_slack import Call, block_action, dm, signed
from tests.support.staff import add_staff, staff_client

ALICE = "U0ALICE01"
JOINED = load_persona("demo").staff_joined.replace("{staff}", "{}")


async def link(rig: SlackRig, username: str, name: str, slack_user: str) -> None:
    await add_staff(rig.settings, username, name)
    database = Database(rig.settings.database_url)
    try:
        await SlackStore(database).link_staff(username, slack_user)
    finally:
        await database.dispose()


async def press(rig: SlackRig, action: str, conversation_id: str, user: str, message_ts: str) -> int:
    body = block_action(action, conversation_id, user, STAFF_CHANNEL, message_ts)
    response = await rig.post_raw(body, signed(body, content_type="application/x-www-form-urlencoded"))
    return response.status


def staff_posts(rig: SlackRig) -> list[Call]:
    return [c for c in rig.api.posts if c.params["channel"] == STAFF_CHANNEL]


async def staff_post(rig: SlackRig, count: int = 1) -> list[Call]:
    for _ in range(200):
        if len(staff_posts(rig)) >= count:
            return staff_posts(rig)
        await asyncio.sleep(0.05)
    raise AssertionError(f"staff channel posts: {staff_posts(rig)}")


def buttons(blocks: Any) -> list[str]:
    if isinstance(blocks, str):
        blocks = json.loads(blocks)
    return [e["action_id"] for b in blocks if b["type"] == "actions" for e in b["elements"]]


def block_text(blocks: Any) -> str:
    if isinstance(blocks, str):
        blocks = json.loads(blocks)
    return json.dumps(blocks)


async def state_of(rig: SlackRig, conversation_id: str) -> str:
    return next(c.state for c in await rig.conversations() if c.id == conversation_id)


async def test_a_slack_customer_escalates_and_is_answered_from_the_staff_thread(rig: SlackRig) -> None:
    await link(rig, "alice", "Alice Ng", ALICE)
    await rig.post_event(dm("can I talk to a human please?", ts="1700002000.000100"), event_id="Ev1")
    [escalation] = await staff_post(rig)
    [conversation] = await rig.conversations()
    assert escalation.params["text"].startswith("A slack customer needs a person")
    assert buttons(escalation.params["blocks"]) == ["switchboard_claim"]
    assert "can I talk to a human please?" in block_text(escalation.params["blocks"])  # the summary
    ts = escalation.ts
    assert await state_of(rig, conversation.id) == "waiting"

    # Someone who is not staff is told so, privately, and nothing changes.
    assert await press(rig, "switchboard_claim", conversation.id, "U0STRANGER", ts) == 200
    [refusal] = await rig.api.wait_for("chat.postEphemeral")
    assert refusal.params["user"] == "U0STRANGER" and "only Switchboard staff" in refusal.params["text"]
    assert await state_of(rig, conversation.id) == "waiting"

    # Alice claims it: the post shows who has it.
    assert await press(rig, "switchboard_claim", conversation.id, ALICE, ts) == 200
    [update] = await rig.api.wait_for("chat.update")
    assert update.params["ts"] == ts and "Claimed by *Alice Ng*" in block_text(update.params["blocks"])
    assert buttons(update.params["blocks"]) == ["switchboard_resolve", "switchboard_hand_back"]
    assert await state_of(rig, conversation.id) == "with_human"

    # Her answer in the thread reaches the customer's DM, once, even when Slack retries the event.
    answer = {"type": "message", "channel": STAFF_CHANNEL, "channel_type": "channel", "user": ALICE,
              "text": "Hi, I'm looking at *your order* now.", "ts": "1700002100.000100", "thread_ts": ts}
    await rig.post_event(answer, event_id="Ev2")
    await rig.post_event(answer, event_id="Ev2", retry=1)
    for _ in range(100):
        to_customer = [c for c in rig.api.posts if c.params["channel"] == "D0DM00001"]
        if any(c.params["text"].startswith("*Alice Ng:*") for c in to_customer):
            break
        await asyncio.sleep(0.05)
    assert to_customer[-1].params["text"] == "*Alice Ng:* Hi, I'm looking at *your order* now."  # still bold
    # Before her answer the customer was told she joined (in Slack's mrkdwn like every message).
    assert to_customer[-2].params["text"] == JOINED.format("Alice Ng")

    # The customer's next message shows up in the staff thread (and the bot stays quiet).
    await rig.post_event(dm("thanks, it's NW-10482", ts="1700002200.000100"), event_id="Ev3")
    for _ in range(100):
        mirrored = [c for c in staff_posts(rig) if c.params.get("thread_ts") == ts]
        if any(c.params["text"].startswith("*Customer:*") for c in mirrored):
            break
        await asyncio.sleep(0.05)
    assert [c.params["text"] for c in mirrored][-1] == "*Customer:* thanks, it's NW-10482"
    await asyncio.sleep(0.3)
    # The escalation notice, that Alice joined, and Alice.
    assert len([c for c in rig.api.posts if c.params["channel"] == "D0DM00001"]) == 3

    assert await press(rig, "switchboard_resolve", conversation.id, ALICE, ts) == 200
    updates = await rig.api.wait_for("chat.update", 2)
    assert "Resolved by *Alice Ng*" in block_text(updates[-1].params["blocks"])
    assert buttons(updates[-1].params["blocks"]) == []
    assert await state_of(rig, conversation.id) == "resolved"


async def test_hand_back_from_slack_gives_the_conversation_back_to_the_bot(rig: SlackRig) -> None:
    await link(rig, "alice", "Alice Ng", ALICE)
    await link(rig, "bob", "Bob Ruiz", "U0BOB0001")
    await rig.post_event(dm("can I talk to a human please?", ts="1700002300.000100"), event_id="Ev1")
    [escalation] = await staff_post(rig)
    [conversation] = await rig.conversations()
    assert await press(rig, "switchboard_claim", conversation.id, ALICE, escalation.ts) == 200
    [claimed] = await rig.api.wait_for("chat.update")
    assert "switchboard_hand_back" in buttons(claimed.params["blocks"])

    # Only the one holding it can hand it back; anyone else is told so, privately.
    assert await press(rig, "switchboard_hand_back", conversation.id, "U0BOB0001", escalation.ts) == 200
    [refusal] = await rig.api.wait_for("chat.postEphemeral")
    assert refusal.params["user"] == "U0BOB0001"
    assert await state_of(rig, conversation.id) == "with_human"

    assert await press(rig, "switchboard_hand_back", conversation.id, ALICE, escalation.ts) == 200
    assert await state_of(rig, conversation.id) == "bot"
    updates = await rig.api.wait_for("chat.update", 2)
    assert updates[-1].params["ts"] == escalation.ts
    assert "Handed back to the bot by *Alice Ng*" in block_text(updates[-1].params["blocks"])
    assert buttons(updates[-1].params["blocks"]) == []

    # The bot answers the customer's next message, and the staff thread is left alone.
    await asyncio.sleep(0.3)  # whatever the hand-back itself sends has gone
    to_customer = len([c for c in rig.api.posts if c.params["channel"] == "D0DM00001"])
    staff_before = len(staff_posts(rig))
    await rig.post_event(dm("where is my order NW-10482?", ts="1700002400.000100"), event_id="Ev2")
    for _ in range(100):
        answer = [c for c in rig.api.posts if c.params["channel"] == "D0DM00001"][to_customer:]
        if answer:
            break
        await asyncio.sleep(0.05)
    assert len(answer) == 1 and "NW-10482" in answer[0].params["text"]
    messages = await rig.messages()
    assert [(m.role, m.text) for m in messages[-2:]][0] == ("customer", "where is my order NW-10482?")
    assert messages[-1].role == "bot" and "NW-10482" in messages[-1].text
    await asyncio.sleep(0.5)
    assert len(staff_posts(rig)) == staff_before


async def test_a_customer_who_asked_in_a_dm_thread_is_answered_there_by_staff_too(rig: SlackRig) -> None:
    await link(rig, "alice", "Alice Ng", ALICE)
    await rig.post_event(dm("hi", ts="1700002500.000100"), event_id="Ev1")
    await rig.api.wait_for("chat.postMessage")
    await rig.post_event(dm("can I talk to a human please?", ts="1700002501.000100", thread_ts="1700002500.000100"), event_id="Ev2")
    [escalation] = await staff_post(rig)
    [conversation] = await rig.conversations()
    [_hi, notice] = [c for c in rig.api.posts if c.params["channel"] == "D0DM00001"]
    assert notice.params.get("thread_ts") == "1700002500.000100"  # the escalation notice, in the thread

    assert await press(rig, "switchboard_claim", conversation.id, ALICE, escalation.ts) == 200
    answer = {"type": "message", "channel": STAFF_CHANNEL, "user": ALICE, "text": "Alice here.",
              "ts": "1700002600.000100", "thread_ts": escalation.ts}
    await rig.post_event(answer, event_id="Ev3")
    for _ in range(100):
        to_customer = [c for c in rig.api.posts if c.params["channel"] == "D0DM00001"]
        if len(to_customer) == 4:
            break
        await asyncio.sleep(0.05)
    assert [(c.params["text"], c.params.get("thread_ts")) for c in to_customer[-2:]] == [
        (JOINED.format("Alice Ng"), "1700002500.000100"),
        ("*Alice Ng:* Alice here.", "1700002500.000100"),
    ]


async def test_a_staff_thread_reply_reaches_a_web_chat_customer(rig: SlackRig) -> None:
    await link(rig, "alice", "Alice Ng", ALICE)
    async with rig.http.post(f"{rig.base_url}/api/conversations") as response:
        web = await response.json()
    auth = {"Authorization": f"Bearer {web['token']}"}
    messages = f"{rig.base_url}/api/conversations/{web['conversation_id']}/messages"
    async with rig.http.post(messages, json={"text": "I want to speak to a person"}, headers=auth) as response:
        assert (await response.json())["reply"]["escalated"] is True
    [escalation] = await staff_post(rig)
    assert escalation.params["text"].startswith("A web customer needs a person")
    ts = escalation_ts = escalation.ts

    # Writing in the thread before claiming is refused, privately.
    early = {"type": "message", "channel": STAFF_CHANNEL, "user": ALICE, "text": "hello?", "ts": "1700003000.000100", "thread_ts": ts}
    await rig.post_event(early, event_id="Ev1")
    [refusal] = await rig.api.wait_for("chat.postEphemeral")
    assert "Claim this conversation" in refusal.params["text"] and refusal.params["thread_ts"] == ts

    assert await press(rig, "switchboard_claim", web["conversation_id"], ALICE, escalation_ts) == 200
    answer = {**early, "text": "Hi! Alice here, how can I help?", "ts": "1700003100.000100"}
    await rig.post_event(answer, event_id="Ev2")
    async with rig.http.get(messages, headers=auth) as response:
        history = await response.json()
    staff = [m for m in history["messages"] if m["role"] == "staff"]
    assert [(m["author"], m["text"]) for m in staff] == [("Alice Ng", "Hi! Alice here, how can I help?")]
    assert history["state"] == "with_human"

    # A console reply is mirrored into the thread; Alice's own Slack reply was not echoed back.
    async with staff_client(rig.base_url, "alice") as console:
        status, _ = await console.act(web["conversation_id"], "reply", text="Sent from the console")
        assert status == 200
    for _ in range(100):
        mirrored = [c.params["text"] for c in staff_posts(rig) if c.params.get("thread_ts") == ts]
        if any("(console)" in text for text in mirrored):
            break
        await asyncio.sleep(0.05)
    assert mirrored[-1] == "*Alice Ng* (console): Sent from the console"
    assert mirrored[:-1] == ["_Told the customer:_ " + JOINED.format("Alice Ng")]  # the claim's notice


async def test_the_staff_channel_catches_up_after_a_slack_outage(rig: SlackRig) -> None:
    rig.api.down = True
    async with rig.http.post(f"{rig.base_url}/api/conversations") as response:
        web = await response.json()
    messages = f"{rig.base_url}/api/conversations/{web['conversation_id']}/messages"
    auth = {"Authorization": f"Bearer {web['token']}"}
    async with rig.http.post(messages, json={"text": "talk to a human"}, headers=auth) as response:
        assert response.status == 200
    while rig.api.refused < 2:
        await asyncio.sleep(0.05)
    rig.api.down = False
    [escalation] = await staff_post(rig)
    await asyncio.sleep(0.5)
    assert len(staff_posts(rig)) == 1
    database = Database(rig.settings.database_url)
    try:
        [thread] = await SlackStore(database).threads(web["conversation_id"])
    finally:
        await database.dispose()
    assert thread.ts == escalation.ts and thread.shown == "open:" and thread.last_error is None

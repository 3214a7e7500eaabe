"""Customers on Slack, through the real server: signed events in, answers in the fake Slack API."""

from __future__ import annotations

import asyncio
import json
import time

from personas import load_persona
from tests.channels.slack.conftest import SlackRig, rig_with_model
from tests.conftest import SettingsFactory
from tests.support.fake_openai import FakeOpenAI
from tests.support.fake_slack import BOT_TOKEN, FakeSlack, dm, event_callback, mention, signed


async def test_a_direct_message_is_answered_in_the_dm(rig: SlackRig) -> None:
    started = time.monotonic()
    response = await rig.post_event(dm("where is my order NW-10482?", ts="1700000100.000100"))
    assert response.status == 200
    assert time.monotonic() - started < 3  # Slack's limit; in practice milliseconds

    [post] = await rig.api.wait_for("chat.postMessage")
    assert post.params["channel"] == "D0DM00001"
    assert post.params.get("thread_ts") is None
    assert post.token == BOT_TOKEN
    assert "NW-10482" in post.params["text"]

    [conversation] = await rig.conversations()
    assert (conversation.channel, conversation.conversation_key, conversation.channel_user_id) == (
        "slack", "T0TEAM001:D0DM00001", "U0CUSTOMER"
    )
    customer, bot = await rig.messages()
    assert (customer.role, customer.text, customer.channel_message_id) == (
        "customer", "where is my order NW-10482?", "1700000100.000100"
    )
    assert bot.role == "bot" and bot.text.split()[0] in post.params["text"]


async def test_the_same_dm_continues_one_conversation(rig: SlackRig) -> None:
    await rig.post_event(dm("hi there", ts="1700000100.000100"), event_id="Ev1")
    await rig.api.wait_for("chat.postMessage", 1)
    await rig.post_event(dm("what's your return policy", ts="1700000101.000100"), event_id="Ev2")
    posts = await rig.api.wait_for("chat.postMessage", 2)
    assert {p.params["channel"] for p in posts} == {"D0DM00001"}
    assert len(await rig.conversations()) == 1
    assert [m.role for m in await rig.messages()] == ["customer", "bot", "customer", "bot"]


async def test_a_reply_in_a_dm_thread_is_answered_in_that_thread_of_the_one_dm_conversation(rig: SlackRig) -> None:
    await rig.post_event(dm("hi there", ts="1700000150.000100"), event_id="Ev1")
    await rig.api.wait_for("chat.postMessage", 1)
    in_thread = dm("what's your return policy", ts="1700000151.000100", thread_ts="1700000150.000100")
    await rig.post_event(in_thread, event_id="Ev2")
    posts = await rig.api.wait_for("chat.postMessage", 2)
    assert (posts[1].params["channel"], posts[1].params.get("thread_ts")) == ("D0DM00001", "1700000150.000100")
    assert "return" in posts[1].params["text"].lower()

    # Back in the DM itself, the answer is in the DM again; all of it is one conversation.
    await rig.post_event(dm("and do you ship to Canada?", ts="1700000152.000100"), event_id="Ev3")
    posts = await rig.api.wait_for("chat.postMessage", 3)
    assert posts[2].params.get("thread_ts") is None
    [conversation] = await rig.conversations()
    assert conversation.conversation_key == "T0TEAM001:D0DM00001"
    assert [m.role for m in await rig.messages()] == ["customer", "bot"] * 3

    # Slack retrying the message in the thread gets no second answer: by the time a message
    # after it is answered and sent, a second answer to the retry would have been sent too.
    await rig.post_event(in_thread, event_id="Ev2", retry=1)
    await rig.post_event(dm("thanks", ts="1700000153.000100"), event_id="Ev4")
    posts = await rig.answered("thanks")
    assert len(posts) == 4 and posts[3].params.get("thread_ts") is None
    assert [m.role for m in await rig.messages()] == ["customer", "bot"] * 4


async def test_a_mention_is_answered_in_its_thread_and_the_thread_continues(rig: SlackRig) -> None:
    await rig.post_event(mention("how much is the Ridgeline boot?", ts="1700000200.000100"), event_id="Ev1")
    [answer] = await rig.api.wait_for("chat.postMessage")
    assert (answer.params["channel"], answer.params["thread_ts"]) == ("C0GENERAL", "1700000200.000100")
    [conversation] = await rig.conversations()
    assert conversation.conversation_key == "T0TEAM001:C0GENERAL:1700000200.000100"
    assert (await rig.messages())[0].text == "how much is the Ridgeline boot?"  # the @mention is not part of it

    # A reply in that thread, without a mention, belongs to the same conversation.
    reply = {"type": "message", "channel_type": "channel", "channel": "C0GENERAL", "user": "U0CUSTOMER",
             "text": "and what's your return policy?", "ts": "1700000201.000100", "thread_ts": "1700000200.000100"}
    await rig.post_event(reply, event_id="Ev2")
    posts = await rig.api.wait_for("chat.postMessage", 2)
    assert posts[1].params["thread_ts"] == "1700000200.000100"
    assert len(await rig.conversations()) == 1

    # A thread the app was never asked into is not its business.
    other = {**reply, "ts": "1700000300.000100", "thread_ts": "1700000299.000100", "text": "unrelated chatter"}
    assert (await rig.post_event(other, event_id="Ev3")).status == 200
    # The thread's next reply is answered after anything the chatter would have caused.
    await rig.post_event({**reply, "ts": "1700000202.000100", "text": "thanks"}, event_id="Ev4")
    posts = await rig.answered("thanks")
    assert len(posts) == 3 and posts[2].params["thread_ts"] == "1700000200.000100"
    assert len(await rig.conversations()) == 1
    assert "unrelated chatter" not in [m.text for m in await rig.messages()]


async def test_retries_and_duplicate_events_get_one_answer(rig: SlackRig) -> None:
    event = dm("my tent pole snapped", ts="1700000400.000100")
    first, again, retried = await asyncio.gather(
        rig.post_event(event, event_id="EvDup"),
        rig.post_event(event, event_id="EvDup"),
        rig.post_event(event, event_id="EvDup", retry=1),
    )
    assert [first.status, again.status, retried.status] == [200, 200, 200]
    await rig.api.wait_for("chat.postMessage")
    # Later retries, and the same message arriving as a mention-like second event type.
    assert (await rig.post_event(event, event_id="EvDup", retry=2)).status == 200
    assert (await rig.post_event({**event, "channel_type": "im"}, event_id="EvOther")).status == 200
    # A new message is answered after anything the duplicates would have sent.
    await rig.post_event(dm("thanks", ts="1700000401.000100"), event_id="EvNext")
    posts = await rig.answered("thanks")
    assert len(posts) == 2
    assert [(m.role, m.text) for m in await rig.messages()][::2] == [
        ("customer", "my tent pole snapped"), ("customer", "thanks")
    ]
    assert [m.role for m in await rig.messages()] == ["customer", "bot"] * 2


async def test_slacks_retries_of_an_event_whose_turn_is_still_running_are_acknowledged_and_not_answered(
    slack_env: None, api: FakeSlack, openai: FakeOpenAI, make_settings: SettingsFactory
) -> None:
    # A retry carries the event's own event_id and payload, so its message ts too: the ts is
    # what makes it the same message, whichever delivery of it comes first.
    async with rig_with_model(api, openai, make_settings, "slow-1.5") as rig:
        event = dm("my stove won't light", ts="1700000450.000100")
        assert (await rig.post_event(event, event_id="EvSlow")).status == 200
        for retry in (1, 2):
            started = time.monotonic()
            assert (await rig.post_event(event, event_id="EvSlow", retry=retry)).status == 200
            assert time.monotonic() - started < 1.0  # not held up by the turn still running
        [answer] = await rig.api.wait_for("chat.postMessage")
        assert answer.params["text"] == "echo: my stove won't light"
        # A new message is answered after anything the retries would have caused.
        await rig.post_event(dm("thanks", ts="1700000451.000100"), event_id="EvNext")
        posts = await rig.answered("thanks")
        assert [p.params["text"] for p in posts] == ["echo: my stove won't light", "echo: thanks"]
        assert len(openai.requests) == 2  # the model was asked once for each message
        assert [m.role for m in await rig.messages()] == ["customer", "bot"] * 2


async def test_bad_signatures_and_replays_are_refused_and_nothing_is_stored(rig: SlackRig) -> None:
    body = json.dumps(event_callback(dm("let me in", ts="1700000500.000100")))
    forged = signed(body, secret="not-the-secret")
    stale = signed(body, timestamp=int(time.time()) - 6 * 60)
    unsigned = {"Content-Type": "application/json"}
    tampered = signed(body)
    for headers, payload in ((forged, body), (stale, body), (unsigned, body), (tampered, body.replace("let me in", "let me out"))):
        response = await rig.post_raw(payload, headers)
        assert response.status in (401, 403), response.status
    # A signed message afterwards is taken and answered; nothing of the refused ones is.
    await rig.post_event(dm("hello", ts="1700000501.000100"), event_id="EvSigned")
    [post] = await rig.answered("hello")
    assert post.params["channel"] == "D0DM00001"
    assert len(await rig.conversations()) == 1
    assert [(m.role, m.text) for m in await rig.messages()][0] == ("customer", "hello")
    assert len(await rig.messages()) == 2


async def test_url_verification_is_answered_with_its_challenge(rig: SlackRig) -> None:
    body = json.dumps({"token": "legacy", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P", "type": "url_verification"})
    async with rig.http.post(f"{rig.base_url}/slack/events", data=body, headers=signed(body)) as response:
        assert response.status == 200
        assert (await response.json()) == {"challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}


async def test_unknown_events_and_edits_get_200_and_are_ignored(rig: SlackRig) -> None:
    reaction = {"type": "reaction_added", "user": "U0CUSTOMER", "reaction": "thumbsup", "item": {"type": "message"}}
    edited = dm("changed text", ts="1700000600.000100", subtype="message_changed")
    joined = {"type": "message", "subtype": "channel_join", "channel": "C0GENERAL", "user": "U0NEW", "ts": "1700000601.000100"}
    from_a_bot = dm("beep", ts="1700000602.000100", bot_id="B0OTHER")
    channel_chatter = {"type": "message", "channel_type": "channel", "channel": "C0GENERAL", "user": "U0X", "text": "lunch?", "ts": "1700000603.000100"}
    for i, event in enumerate((reaction, edited, joined, from_a_bot, channel_chatter)):
        assert (await rig.post_event(event, event_id=f"EvU{i}")).status == 200
    # A message afterwards is answered after anything those would have caused.
    await rig.post_event(dm("hello", ts="1700000604.000100"), event_id="EvHello")
    [post] = await rig.answered("hello")
    assert post.params["channel"] == "D0DM00001"
    [conversation] = await rig.conversations()
    assert conversation.conversation_key == "T0TEAM001:D0DM00001"
    assert [(m.role, m.text) for m in await rig.messages()][0] == ("customer", "hello")
    assert len(await rig.messages()) == 2


async def test_a_file_without_text_gets_a_polite_note(rig: SlackRig) -> None:
    upload = dm("", ts="1700000700.000100", subtype="file_share", files=[{"id": "F1", "name": "receipt.pdf"}])
    assert (await rig.post_event(upload)).status == 200
    [note] = await rig.api.wait_for("chat.postMessage")
    assert (note.params["channel"], note.params["text"]) == ("D0DM00001", load_persona("demo").no_text)
    assert await rig.conversations() == []



async def test_the_notes_about_a_message_that_cannot_be_taken_go_out_once_whatever_slack_retries(rig: SlackRig) -> None:
    persona = load_persona("demo")
    upload = dm("", ts="1700000800.000100", subtype="file_share", files=[{"id": "F2", "name": "photo.jpg"}])
    too_long = dm("x" * (rig.settings.limits.max_text_chars + 1), ts="1700000801.000100", channel="D0DM00002")
    for event, event_id in ((upload, "EvFile"), (too_long, "EvLong")):
        # The first delivery and two of Slack's retries (an acknowledgement it did not see in time).
        responses = await asyncio.gather(*(rig.post_event(event, event_id=event_id, retry=retry) for retry in (None, 1, 2)))
        assert [r.status for r in responses] == [200, 200, 200]
    notes = await rig.api.wait_for("chat.postMessage", 2)

    # A message that is taken, answered after them: by then a second note would have gone out.
    await rig.post_event(dm("hello again", ts="1700000802.000100"), event_id="EvHello")
    posts = await rig.api.wait_for("chat.postMessage", 3)
    assert sorted((p.params["channel"], p.params["text"]) for p in notes) == [
        ("D0DM00001", persona.no_text), ("D0DM00002", persona.too_long)
    ]
    assert len(posts) == 3 and posts[2].params["channel"] == "D0DM00001"

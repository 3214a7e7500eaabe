"""Slack events as Slack sends them, parsed into customer messages (or not)."""

from __future__ import annotations

from channels.slack.inbound import parse_event, plain_text

BOT = "U0BOT0001"

# Recorded from Slack's Events API (ids changed).
DM = {
    "client_msg_id": "5f6e4c1a-0000-4000-8000-000000000001", "type": "message", "text": "where's my order &lt;NW-10482&gt;?",
    "user": "U0CUSTOMER", "ts": "1712345678.123456", "team": "T0TEAM001", "channel": "D0DM00001",
    "event_ts": "1712345678.123456", "channel_type": "im",
}
MENTION = {
    "client_msg_id": "5f6e4c1a-0000-4000-8000-000000000002", "type": "app_mention",
    "text": "<@U0BOT0001> do you ship to <https://example.com/ca|Canada>? cc <@U0FRIEND|sam>",
    "user": "U0CUSTOMER", "ts": "1712345680.000200", "team": "T0TEAM001", "channel": "C0GENERAL", "event_ts": "1712345680.000200",
}
THREAD_REPLY = {
    "type": "message", "text": "thanks!", "user": "U0CUSTOMER", "ts": "1712345690.000300", "thread_ts": "1712345680.000200",
    "team": "T0TEAM001", "channel": "C0GENERAL", "channel_type": "channel", "parent_user_id": "U0CUSTOMER",
}


def test_a_dm_is_one_conversation_per_dm_channel() -> None:
    parsed = parse_event(DM, "T0TEAM001", BOT)
    assert parsed is not None
    inbound = parsed.inbound()
    assert (inbound.channel, inbound.conversation_key, inbound.channel_user_id) == ("slack", "T0TEAM001:D0DM00001", "U0CUSTOMER")
    assert (inbound.text, inbound.provider_message_id) == ("where's my order <NW-10482>?", "1712345678.123456")


def test_a_message_in_a_dm_thread_is_the_dm_conversation_and_remembers_its_thread() -> None:
    parsed = parse_event({**DM, "ts": "1712345679.000100", "thread_ts": DM["ts"]}, "T0TEAM001", BOT)
    assert parsed is not None and parsed.kind == "dm" and parsed.reply_thread_ts == DM["ts"]
    inbound = parsed.inbound()
    assert inbound.conversation_key == "T0TEAM001:D0DM00001"
    assert inbound.provider_message_id == f"1712345679.000100@{DM['ts']}"
    # A thread's parent is a message in the DM itself.
    parent = parse_event({**DM, "thread_ts": DM["ts"]}, "T0TEAM001", BOT)
    assert parent is not None and parent.reply_thread_ts is None and parent.inbound().provider_message_id == DM["ts"]


def test_a_mention_is_one_conversation_per_thread_without_the_mention() -> None:
    parsed = parse_event(MENTION, "T0TEAM001", BOT)
    assert parsed is not None and parsed.kind == "mention"
    assert parsed.place.key == "T0TEAM001:C0GENERAL:1712345680.000200"
    assert parsed.text == "do you ship to Canada (https://example.com/ca)? cc @sam"
    in_thread = parse_event({**MENTION, "thread_ts": "1712345000.000001"}, "T0TEAM001", BOT)
    assert in_thread is not None and in_thread.place.thread_ts == "1712345000.000001"


def test_a_thread_reply_names_the_thread_it_continues() -> None:
    parsed = parse_event(THREAD_REPLY, "T0TEAM001", BOT)
    assert parsed is not None and parsed.kind == "thread"
    assert parsed.place.key == "T0TEAM001:C0GENERAL:1712345680.000200"


def test_what_is_not_a_person_writing_is_not_a_message() -> None:
    assert parse_event({**DM, "subtype": "message_changed"}, "T0TEAM001", BOT) is None
    assert parse_event({**DM, "bot_id": "B0BOT"}, "T0TEAM001", BOT) is None
    assert parse_event({**DM, "user": BOT}, "T0TEAM001", BOT) is None
    assert parse_event({**THREAD_REPLY, "thread_ts": None}, "T0TEAM001", BOT) is None  # plain channel chatter
    assert parse_event({k: v for k, v in DM.items() if k != "user"}, "T0TEAM001", BOT) is None
    shared = parse_event({**DM, "subtype": "file_share", "text": "", "files": [{"id": "F1"}]}, "T0TEAM001", BOT)
    assert shared is not None and (shared.text, shared.files) == ("", 1)


def test_plain_text_undoes_slacks_encoding() -> None:
    assert plain_text("&lt;b&gt; &amp; <mailto:a@b.test|a@b.test>") == "<b> & a@b.test (mailto:a@b.test)"
    assert plain_text(f"<@{BOT}>   ", BOT) == ""

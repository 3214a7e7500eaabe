"""Opt-out events and closing a channel's conversation, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio

import pytest

from agent.contracts import ConversationState, InboundMessage
from agent.store import Database, OptOutStore, ConversationStore, TurnRecord

NUMBER = "+15551230001"


async def test_the_latest_opt_out_or_opt_in_decides(database: Database) -> None:
    optouts = OptOutStore(database)
    assert not await optouts.is_opted_out(NUMBER)
    assert await optouts.record(NUMBER, "opt_out", "STOP", "SM1")
    assert await optouts.record(NUMBER, "help", "HELP", "SM2")  # help changes nothing
    assert await optouts.is_opted_out(NUMBER)
    assert not await optouts.is_opted_out("+15551230002")
    assert await optouts.record(NUMBER, "opt_in", "START", "SM3")
    assert not await optouts.is_opted_out(NUMBER)
    assert await optouts.record(NUMBER, "opt_out", "21610", None)  # the provider said so; no message id
    assert await optouts.is_opted_out(NUMBER)


async def test_a_keyword_message_is_recorded_once_even_when_delivered_twice_at_once(database: Database) -> None:
    optouts = OptOutStore(database)
    results = await asyncio.gather(*(optouts.record(NUMBER, "opt_out", "STOP", "SM-dup") for _ in range(4)))
    assert sorted(results) == [False, False, False, True]
    assert len(await optouts.events(NUMBER)) == 1


async def test_an_unknown_action_is_refused(database: Database) -> None:
    with pytest.raises(ValueError):
        await OptOutStore(database).record(NUMBER, "maybe", "HMM", "SM9")


async def test_ending_a_conversation_resolves_a_bot_one_and_leaves_an_escalated_one(database: Database) -> None:
    store = ConversationStore(database)
    for key, escalate in (("CA-bot", False), ("CA-human", True)):
        saved = await store.save_inbound(InboundMessage("voice", NUMBER, key, "hello"))
        assert saved.message.id is not None
        await store.finish_turn(
            TurnRecord(
                saved.conversation.id, saved.message.id, "answered", 1.0, reply_text="hi",
                new_state=ConversationState.WAITING if escalate else None,
                escalation_reason="customer_request" if escalate else None,
            )
        )
    found = [await store.conversation_by_key("voice", key) for key in ("CA-bot", "CA-human")]
    assert all(found)
    ended = [await store.end_conversation(c.id, "Call ended.") for c in found if c]
    assert all(ended)
    (bot, note), (human, _) = ended  # type: ignore[misc]
    assert bot.state == "resolved" and human.state == "waiting"
    assert (note.role, note.text) == ("system", "Call ended.")
    assert [m.role for m in await store.messages(bot.id)] == ["customer", "bot", "system"]
    assert await store.end_conversation("no-such-conversation", "x") is None

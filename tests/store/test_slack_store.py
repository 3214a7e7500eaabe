"""The Slack store on SQLite and PostgreSQL: what an escalation's post still lacks, and notes told once."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlmodel import Session

from agent.contracts import ConversationState, InboundMessage, Role, StaffRole, utcnow
from agent.store import AccountStore, Database, HandoffStore, ConversationStore, TurnRecord
from agent.store.slack import SlackStore
from agent.store.tables import SlackNote

CHANNEL = "C0STAFF01"


async def escalated(database: Database, key: str = "web-1") -> str:
    store = ConversationStore(database)
    saved = await store.save_inbound(InboundMessage("web", key, key, "I want a person"))
    assert saved.message.id is not None
    await store.finish_turn(TurnRecord(
        saved.conversation.id, saved.message.id, "escalated", 1.0, reply_text="Passing you to a colleague.",
        new_state=ConversationState.WAITING, escalation_reason="customer_request",
    ))
    return saved.conversation.id


async def test_an_escalation_is_posted_updated_mirrored_and_then_done(database: Database) -> None:
    slack, handoff = SlackStore(database), HandoffStore(database)
    alice = await AccountStore(database).add_user("alice", "Alice Ng", StaffRole.STAFF, "hash")
    assert alice.id is not None
    conversation_id = await escalated(database)

    [new] = await slack.due(CHANNEL)
    assert (new.conversation_id, new.ts, new.status, new.wanted, new.pending) == (conversation_id, None, "open", "open:", [])
    assert new.latest_message_id == 2
    assert await slack.due(CHANNEL) == []  # leased to the first caller
    await slack.posted(new.id, "111.1", new.wanted, new.latest_message_id)
    await slack.settle(new.id)
    assert await slack.due(CHANNEL) == []  # nothing left to show
    assert await slack.conversation_for_thread(CHANNEL, "111.1") == conversation_id

    await handoff.claim(conversation_id, alice.id)
    await ConversationStore(database).save_inbound(InboundMessage("web", "web-1", "web-1", "hello?", conversation_id=conversation_id))
    await handoff.staff_message(conversation_id, alice.id, "Alice Ng", "from the console", None)
    await handoff.staff_message(conversation_id, alice.id, "Alice Ng", "from Slack", "slack:222.2")
    [claimed] = await slack.due(CHANNEL)
    assert (claimed.wanted, claimed.shown, claimed.holder and claimed.holder.username) == (f"claimed:{alice.id}", "open:", "alice")
    assert [(m.role, m.text) for m in claimed.pending] == [(Role.CUSTOMER, "hello?"), (Role.STAFF, "from the console")]
    await slack.shown(claimed.id, claimed.wanted)
    for message in claimed.pending:
        await slack.mirrored(claimed.id, message.id)
    await slack.settle(claimed.id)

    await handoff.release(conversation_id, alice.id, ConversationState.RESOLVED, "resolved")
    await asyncio.sleep(0.01)
    await ConversationStore(database).save_inbound(InboundMessage("web", "web-1", "web-1", "after it closed", conversation_id=conversation_id))
    [resolved] = await slack.due(CHANNEL)
    assert resolved.status == "resolved" and resolved.pending == []  # later messages are the bot's again
    await slack.shown(resolved.id, resolved.wanted)
    await slack.settle(resolved.id)
    assert await slack.due(CHANNEL) == []
    [row] = await slack.threads(conversation_id)
    assert row.done


async def test_a_failed_post_waits_for_its_retry_time(database: Database) -> None:
    slack = SlackStore(database)
    await escalated(database)
    [thread] = await slack.due(CHANNEL, lease_s=0)
    await slack.retry(thread.id, utcnow() + timedelta(seconds=30), "rate limited")
    assert await slack.due(CHANNEL) == []
    [row] = await slack.threads(thread.conversation_id)
    assert (row.attempts, row.last_error) == (1, "rate limited")


async def test_two_processes_open_one_thread_per_escalation(database: Database) -> None:
    for key in ("a", "b", "c"):
        await escalated(database, key)
    first, second = SlackStore(database), SlackStore(database)
    a, b = await asyncio.gather(first.due(CHANNEL), second.due(CHANNEL))
    ids = [t.escalation_id for t in a + b]
    assert sorted(ids) == sorted(set(ids))
    rows = [r for key in ("a", "b", "c") for r in await first.threads((await ConversationStore(database).save_inbound(
        InboundMessage("web", key, key, "x"))).conversation.id)]
    assert len(rows) == 3


async def test_a_note_about_a_slack_message_is_claimed_once_even_by_racing_retries(database: Database) -> None:
    slack = SlackStore(database)
    key = "T0TEAM001:D0DM00001:1700000800.000100"
    assert sorted(await asyncio.gather(*(slack.claim_note(key) for _ in range(3)))) == [False, False, True]
    assert await slack.claim_note(key) is False
    assert await slack.claim_note("T0TEAM001:D0DM00001:1700000801.000100") is True


async def test_notes_claimed_days_ago_are_forgotten(database: Database) -> None:
    def old(session: Session) -> None:
        session.add(SlackNote(message_key="T0TEAM001:D0DM00001:1.1", created_at=utcnow() - timedelta(days=3)))
        session.commit()

    await database.run(old)
    slack = SlackStore(database)
    assert await slack.claim_note("T0TEAM001:D0DM00001:2.2") is True
    assert await slack.claim_note("T0TEAM001:D0DM00001:1.1") is True  # Slack stopped retrying it days ago

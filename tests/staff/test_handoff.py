"""Handoff state changes on SQLite and PostgreSQL: one claim wins even across processes."""

from __future__ import annotations

import asyncio

import pytest

from agent.contracts import (
    ConversationState,
    EscalationView,
    HandoffConflict,
    InboundMessage,
    MessageView,
    NoteView,
    QueueItem,
    Role,
    StaffMember,
    StaffRole,
)
from agent.live.events import InProcessEventBus
from agent.staff.handoff import Handoff
from agent.live.locks import InProcessLocks
from agent.store import AccountStore, Database, HandoffStore, ConversationStore, TurnRecord
from agent.staff.model_summary import ModelSummarizer


async def waiting_conversation(database: Database, channel: str = "web", user: str = "key-1") -> str:
    store = ConversationStore(database)
    saved = await store.save_inbound(InboundMessage(channel, user, "key-1", "a person please"))
    assert saved.message.id is not None
    await store.finish_turn(
        TurnRecord(
            conversation_id=saved.conversation.id,
            inbound_message_id=saved.message.id,
            outcome="escalated",
            latency_ms=1.0,
            reply_text="Handing you over.",
            new_state=ConversationState.WAITING,
            escalation_reason="customer_request",
        )
    )
    return saved.conversation.id


async def member(database: Database, username: str) -> StaffMember:
    return await AccountStore(database).add_user(username, username.title(), StaffRole.STAFF, "not-a-real-hash")


async def test_concurrent_claims_from_two_processes_have_one_winner(database: Database) -> None:
    conversation_id = await waiting_conversation(database)
    alice, bob = await member(database, "alice"), await member(database, "bob")
    # Separate locks and buses: two server processes share only the database.
    first = Handoff(HandoffStore(database), InProcessLocks(), InProcessEventBus())
    second = Handoff(HandoffStore(database), InProcessLocks(), InProcessEventBus())
    results = await asyncio.gather(
        first.claim(conversation_id, alice), second.claim(conversation_id, bob), return_exceptions=True
    )
    assert sorted(type(r).__name__ for r in results) == ["ConversationState", "HandoffConflict"]
    refused = next(r for r in results if isinstance(r, HandoffConflict))
    assert refused.code == "already_claimed"
    detail = await first.detail(conversation_id)
    winner = alice if results[0] is ConversationState.WITH_HUMAN else bob
    assert detail.state is ConversationState.WITH_HUMAN
    assert [(e.status, e.claimed_by) for e in detail.escalations] == [("claimed", winner)]


async def test_a_close_and_a_claim_at_once_have_one_winner(database: Database) -> None:
    conversation_id = await waiting_conversation(database)
    alice, bob = await member(database, "alice"), await member(database, "bob")
    first = Handoff(HandoffStore(database), InProcessLocks(), InProcessEventBus())
    second = Handoff(HandoffStore(database), InProcessLocks(), InProcessEventBus())
    results = await asyncio.gather(
        first.close(conversation_id, alice), second.claim(conversation_id, bob), return_exceptions=True
    )
    assert sorted(type(r).__name__ for r in results) == ["ConversationState", "HandoffConflict"]
    detail = await first.detail(conversation_id)
    if results[0] is ConversationState.BOT:
        assert detail.state is ConversationState.BOT
        assert [(e.status, e.claimed_by) for e in detail.escalations] == [("closed", None)]
    else:
        assert detail.state is ConversationState.WITH_HUMAN
        assert [(e.status, e.claimed_by) for e in detail.escalations] == [("claimed", bob)]


async def test_resolve_then_reopen_keeps_the_escalation_history(database: Database) -> None:
    conversation_id = await waiting_conversation(database)
    alice = await member(database, "alice")
    handoff = Handoff(HandoffStore(database), InProcessLocks(), InProcessEventBus())
    assert await handoff.claim(conversation_id, alice) is ConversationState.WITH_HUMAN
    await handoff.reply(conversation_id, alice, "On it.")
    note = await handoff.add_note(conversation_id, alice, "private")
    assert await handoff.resolve(conversation_id, alice) is ConversationState.RESOLVED
    assert await handoff.reopen(conversation_id, alice) is ConversationState.WITH_HUMAN
    detail = await handoff.detail(conversation_id)
    assert [(e.reason, e.status) for e in detail.escalations] == [("customer_request", "resolved"), ("reopened", "claimed")]
    assert detail.notes == [note]
    assert [(m.role.value, m.author) for m in detail.messages][-1] == ("staff", "Alice")
    assert [item.conversation_id for item in await handoff.queue()] == [conversation_id]


async def test_the_summary_names_the_customer_as_their_channel_knows_them(database: Database) -> None:
    conversation_id = await waiting_conversation(database, channel="sms", user="+15550102030")
    detail = await Handoff(HandoffStore(database), InProcessLocks(), InProcessEventBus()).detail(conversation_id)
    assert detail.summary.splitlines()[0] == "Customer +15550102030 on sms asked for a person."


async def test_a_summary_model_that_raises_leaves_the_extractive_summary(database: Database) -> None:
    conversation_id = await waiting_conversation(database)
    asked: list[str] = []

    async def broken(prompt: str) -> str | None:
        asked.append(prompt)
        raise ConnectionResetError("provider went away")

    handoff = Handoff(HandoffStore(database), InProcessLocks(), InProcessEventBus(), summarizer=ModelSummarizer(broken))
    detail = await handoff.detail(conversation_id)
    assert len(asked) == 1 and "a person please" in asked[0]
    assert detail.summary_source == "extractive"
    assert detail.summary.startswith("Customer on web asked for a person.")


async def test_the_handoff_store_returns_views_not_rows(database: Database) -> None:
    conversation_id = await waiting_conversation(database)
    alice = await member(database, "alice")
    store = HandoffStore(database)
    snapshot = await store.claim(conversation_id, alice.id, notice="Alice is here.")
    assert snapshot is not None and snapshot.changed and snapshot.state is ConversationState.WITH_HUMAN
    assert snapshot.holder == alice and type(snapshot.escalation) is EscalationView
    assert type(snapshot.notice) is MessageView and snapshot.notice.role is Role.SYSTEM
    [queued] = await store.queue()
    assert type(queued) is QueueItem and queued.claimed_by == alice and queued.last_customer_text == "a person please"
    note = await store.add_note(conversation_id, alice.id, "Wants a refund.")
    assert type(note) is NoteView and note.author == "Alice"
    stored = await store.detail(conversation_id)
    assert stored is not None and stored.conversation.state is ConversationState.WITH_HUMAN
    assert [(type(m), m.role) for m in stored.messages] == [
        (MessageView, Role.CUSTOMER), (MessageView, Role.BOT), (MessageView, Role.SYSTEM)
    ]
    assert stored.notes == [note] and [e.claimed_by for e in stored.escalations] == [alice]
    assert [t.outcome for t in stored.turns] == ["escalated"]

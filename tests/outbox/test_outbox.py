"""The outbox on SQLite and PostgreSQL: queued with the message, sent in order, retried, never lost."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from agent.contracts import ConversationState, DeliveryError, InboundMessage, StaffRole, utcnow
from agent.outbox.sender import DeliveryPolicy, OutboxSender
from agent.store import AccountStore, Database, HandoffStore, ConversationStore, TurnRecord, as_utc
from agent.store.outbox import OutboxBell, OutboxRouting, OutboxStore
from agent.store.views import OutboxBacklog
from tests.support.memory_channel import MemoryChannel

FAST = DeliveryPolicy(poll_interval_s=0.05, backoff_base_s=0.01, backoff_max_s=0.05, max_attempts=3)


def routing(hold_s: float = 0.0) -> OutboxRouting:
    return OutboxRouting({"memo": hold_s}, OutboxBell())


async def answered(store: ConversationStore, key: str, text: str, reply: str, channel: str = "memo") -> tuple[str, int]:
    """A customer message and the bot's reply, as a finished turn; returns (conversation, reply message id)."""
    saved = await store.save_inbound(InboundMessage(channel, "U1", key, text))
    assert saved.message.id is not None
    _, message = await store.finish_turn(
        TurnRecord(saved.conversation.id, saved.message.id, "answered", 1.0, reply_text=reply)
    )
    assert message is not None and message.id is not None
    return saved.conversation.id, message.id


async def test_a_reply_is_queued_with_the_turn_and_sent_once(database: Database) -> None:
    store, outbox, channel = ConversationStore(database, routing()), OutboxStore(database), MemoryChannel()
    conversation_id, message_id = await answered(store, "C1:1", "hi", "Hello!")
    await answered(store, "web-1", "hi", "Hello, web!", channel="web")  # pushed live, not sent

    sender = OutboxSender(outbox, {"memo": channel}, FAST)
    assert await sender.send_due() == 1
    assert await sender.send_due() == 0
    [sent] = channel.sent
    assert (sent.conversation_key, sent.channel_user_id, sent.message.text) == ("C1:1", "U1", "Hello!")
    assert (sent.message.id, sent.attempt) == (message_id, 1)
    [row] = await outbox.items(conversation_id)
    assert (row.status, row.provider_message_id, row.attempts) == ("sent", "memo-1", 1)


async def test_a_failed_send_is_retried_after_the_providers_retry_after(database: Database) -> None:
    store, outbox = ConversationStore(database, routing()), OutboxStore(database)
    channel = MemoryChannel(failures=[DeliveryError("rate limited", retry_after=0.3)])
    conversation_id, _ = await answered(store, "C1:1", "hi", "Hello!")
    sender = OutboxSender(outbox, {"memo": channel}, FAST)

    await sender.send_due()
    [row] = await outbox.items(conversation_id)
    assert (row.status, row.last_error, row.attempts) == ("pending", "rate limited", 1)
    # Backoff alone would allow 0.05 s; the provider asked for 0.3 s.
    assert as_utc(row.available_at) - utcnow() > timedelta(seconds=0.2)
    assert await sender.send_due() == 0
    await asyncio.sleep(0.35)
    assert await sender.send_due() == 1
    [row] = await outbox.items(conversation_id)
    assert (row.status, row.attempts, row.last_error) == ("sent", 2, None)
    assert [m.message.text for m in channel.sent] == ["Hello!"]


async def test_messages_to_one_customer_keep_their_order_while_others_flow(database: Database) -> None:
    store, outbox = ConversationStore(database, routing()), OutboxStore(database)
    channel = MemoryChannel(failures=[DeliveryError("down")])
    await answered(store, "A", "one", "first to A")
    await answered(store, "A", "two", "second to A")
    await answered(store, "B", "hi", "only to B")
    sender = OutboxSender(outbox, {"memo": channel}, FAST)

    await sender.send_due()  # A's first fails; B's goes; A's second must wait behind A's first
    assert [m.message.text for m in channel.sent] == ["only to B"]
    await asyncio.sleep(0.06)
    await sender.send_due()
    await sender.send_due()
    assert [m.message.text for m in channel.sent] == ["only to B", "first to A", "second to A"]


async def test_a_permanent_failure_gives_up_and_unblocks_the_next_message(database: Database) -> None:
    store, outbox = ConversationStore(database, routing()), OutboxStore(database)
    channel = MemoryChannel(failures=[DeliveryError("channel_not_found", permanent=True), RuntimeError("bug")])
    conversation_id, _ = await answered(store, "A", "one", "lost cause")
    await answered(store, "A", "two", "next one")
    sender = OutboxSender(outbox, {"memo": channel}, FAST)

    await sender.send_due()
    await sender.send_due()  # a crashing sender is one failed attempt, retried
    await asyncio.sleep(0.06)
    await sender.send_due()
    rows = await outbox.items(conversation_id)
    assert [(r.status, r.last_error) for r in rows] == [
        ("failed", "channel_not_found"),
        ("sent", None),
    ]
    assert [m.message.text for m in channel.sent] == ["next one"]


async def test_attempts_are_bounded(database: Database) -> None:
    store, outbox = ConversationStore(database, routing()), OutboxStore(database)
    channel = MemoryChannel(failures=[DeliveryError("503")] * 5)
    conversation_id, _ = await answered(store, "A", "one", "never arrives")
    sender = OutboxSender(outbox, {"memo": channel}, FAST)
    for _ in range(4):
        await sender.send_due()
        await asyncio.sleep(0.06)
    [row] = await outbox.items(conversation_id)
    assert (row.status, row.attempts) == ("failed", FAST.max_attempts)


async def test_a_crashed_senders_lease_runs_out_and_the_row_goes_again(database: Database) -> None:
    store, outbox = ConversationStore(database, routing()), OutboxStore(database)
    conversation_id, _ = await answered(store, "A", "one", "hello")
    [taken] = await outbox.claim_due(10, lease_s=30)  # and the process dies here
    assert await outbox.claim_due(10, lease_s=30) == []
    [again] = await outbox.claim_due(10, lease_s=30, now=utcnow() + timedelta(seconds=31))
    assert again.outbox_id == taken.outbox_id and again.attempt == 2


async def test_two_senders_never_take_the_same_row(database: Database) -> None:
    store = ConversationStore(database, routing())
    for key in "ABCDEFGH":
        await answered(store, key, "hi", f"hello {key}")
    first, second = OutboxStore(database), OutboxStore(database)
    a, b = await asyncio.gather(first.claim_due(5, 30), second.claim_due(5, 30))
    rest = await first.claim_due(10, 30)
    ids = [c.outbox_id for c in a + b + rest]
    assert len(ids) == len(set(ids)) == 8


async def test_an_inline_reply_is_held_then_taken_by_the_webhook(database: Database) -> None:
    store, outbox, channel = ConversationStore(database, routing(hold_s=30)), OutboxStore(database), MemoryChannel()
    sender = OutboxSender(outbox, {"memo": channel}, FAST)
    _, inline_id = await answered(store, "A", "hi", "answered inline")
    _, released_id = await answered(store, "B", "hi", "too slow for inline")

    assert await sender.send_due() == 0  # both held for their webhooks
    assert await outbox.take_inline(inline_id)
    await outbox.release(released_id)
    assert await sender.send_due() == 1
    assert [m.message.text for m in channel.sent] == ["too slow for inline"]
    assert not await outbox.take_inline(released_id)  # the outbox had it: no second delivery
    assert not await outbox.take_inline(inline_id)


async def test_a_message_never_queued_belongs_to_its_channel(database: Database) -> None:
    store, outbox = ConversationStore(database, routing()), OutboxStore(database)
    _, message_id = await answered(store, "web-1", "hi", "pushed live", channel="web")
    assert await outbox.take_inline(message_id)


async def test_staff_replies_and_notices_are_queued_for_the_customer(database: Database) -> None:
    bell = OutboxBell()
    store = ConversationStore(database, OutboxRouting({"memo": 0.0}, bell))
    handoff = HandoffStore(database, OutboxRouting({"memo": 0.0}, bell))
    saved = await store.save_inbound(InboundMessage("memo", "U1", "A", "a person please"))
    assert saved.message.id is not None
    await store.finish_turn(
        TurnRecord(
            saved.conversation.id, saved.message.id, "escalated", 1.0,
            reply_text="Handing you over.", new_state=ConversationState.WAITING, escalation_reason="customer_request",
        )
    )
    conversation_id = saved.conversation.id
    assert await handoff.post_unclaimed_notice(conversation_id, "Still looking for someone.") is not None
    staff = await AccountStore(database).add_user("alice", "Alice", StaffRole.STAFF, "not-a-real-hash")
    assert staff.id is not None
    await handoff.claim(conversation_id, staff.id)
    result = await handoff.staff_message(conversation_id, staff.id, "Alice", "Hi, Alice here.", "c1")
    again = await handoff.staff_message(conversation_id, staff.id, "Alice", "Hi, Alice here.", "c1")
    assert result is not None and again is not None and again.duplicate

    channel = MemoryChannel()
    sender = OutboxSender(OutboxStore(database), {"memo": channel}, FAST, bell)
    task = asyncio.create_task(sender.run())
    try:
        for _ in range(100):
            if len(channel.sent) == 3:
                break
            await asyncio.sleep(0.02)
    finally:
        task.cancel()
    assert [(m.message.role.value, m.message.text) for m in channel.sent] == [
        ("bot", "Handing you over."),
        ("system", "Still looking for someone."),
        ("staff", "Hi, Alice here."),
    ]


async def test_a_sender_whose_lease_ran_out_cannot_overwrite_the_new_owner(database: Database) -> None:
    store, outbox = ConversationStore(database, routing()), OutboxStore(database)
    conversation_id, _ = await answered(store, "A", "one", "hello")
    [slow] = await outbox.claim_due(10, lease_s=30)  # this sender stalls past its lease...
    [again] = await outbox.claim_due(10, lease_s=30, now=utcnow() + timedelta(seconds=31))  # ...and another takes over
    assert slow.outbox_id is not None and again.outbox_id == slow.outbox_id
    assert not await outbox.retry_at(slow.outbox_id, slow.attempt, utcnow(), "late failure")
    assert await outbox.mark_sent(again.outbox_id, again.attempt, "memo-9")
    assert not await outbox.mark_failed(slow.outbox_id, slow.attempt, "late give-up")
    [row] = await outbox.items(conversation_id)
    assert (row.status, row.provider_message_id, row.last_error) == ("sent", "memo-9", None)


async def test_a_sender_cancelled_as_the_bell_rings_stops() -> None:
    # The ring and the cancel land in the same loop step, as at shutdown right after a commit:
    # the waiter must end cancelled, or the sender's loop outlives the server.
    bell = OutboxBell()
    waiting = asyncio.create_task(bell.wait(30.0))
    await asyncio.sleep(0)
    bell.ring()
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(waiting, 5.0)


async def test_the_backlog_counts_the_unsent_replies_and_dates_the_oldest(database: Database) -> None:
    store, outbox = ConversationStore(database, routing()), OutboxStore(database)
    assert await outbox.backlog() == OutboxBacklog(0, None)
    before = utcnow()
    await answered(store, "A", "one", "first to A")
    await answered(store, "B", "hi", "only to B")
    await answered(store, "web-1", "hi", "Hello, web!", channel="web")  # pushed live, never owed
    backlog = await outbox.backlog()
    assert backlog.pending == 2 and backlog.oldest_at is not None and before <= backlog.oldest_at <= utcnow()

    assert await OutboxSender(outbox, {"memo": MemoryChannel()}, FAST).send_due() == 2
    assert await outbox.backlog() == OutboxBacklog(0, None)

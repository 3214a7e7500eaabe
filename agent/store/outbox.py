"""The outbox: messages owed to customers on sent (not pushed) channels, and their delivery state.

Rows are written in the transaction that stores the message (`enqueue`), claimed by a
sender with a lease (a crashed sender's rows come back when the lease runs out), and sent in
order per conversation: a message waits while an older one to the same customer is unsent.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, exists, func, update
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from agent.contracts import OutboundMessage, Role, utcnow
from agent.store.bell import OutboxBell
from agent.store.database import Database
from agent.store.rows import to_view
from agent.store.tables import Conversation, Message, OutboxItem, Turn
from agent.store.views import OutboxBacklog, as_utc

__all__ = ["NO_OUTBOX", "OutboxBell", "OutboxRouting", "OutboxStore", "enqueue"]

PENDING = "pending"
SENDING = "sending"
SENT = "sent"
INLINE = "inline"
FAILED = "failed"
UNSENT = (PENDING, SENDING)


@dataclass(frozen=True, slots=True)
class OutboxRouting:
    """Which channels deliver through the outbox, and how long a turn's reply is held for inline delivery."""

    holds: Mapping[str, float]  # channel → seconds
    bell: OutboxBell | None = None

    def wants(self, channel: str, role: str) -> bool:
        return channel in self.holds and role != Role.CUSTOMER.value

    def ring(self) -> None:
        if self.bell is not None:
            self.bell.ring()


NO_OUTBOX = OutboxRouting(holds={})


def enqueue(session: Session, routing: OutboxRouting, conversation: Conversation, message: Message, hold: bool = False) -> bool:
    """Queue `message` for its customer if the conversation's channel is sent through the outbox."""
    if not routing.wants(conversation.channel, message.role):
        return False
    assert message.id is not None, "flush the message first"
    delay = routing.holds[conversation.channel] if hold else 0.0
    session.add(
        OutboxItem(
            message_id=message.id,
            conversation_id=conversation.id,
            channel=conversation.channel,
            available_at=utcnow() + timedelta(seconds=delay),
        )
    )
    return True


def _in_reply_to(session: Session, message: Message) -> str | None:
    """The channel id of the customer message `message` answers: its turn's message for a bot
    answer, else the customer's latest message before it (a staff reply, a notice). Read in the
    claim's own unit of work, so a sender that threads replies costs no extra round trip."""
    inbound = session.exec(
        select(Message.channel_message_id)
        .join(Turn, col(Turn.inbound_message_id) == col(Message.id))
        # The conversation's index finds its few turns; reply_message_id has none.
        .where(Turn.conversation_id == message.conversation_id, Turn.reply_message_id == message.id)
    ).first()
    if inbound is not None:
        return inbound
    return session.exec(
        select(Message.channel_message_id)
        .where(Message.conversation_id == message.conversation_id, Message.role == Role.CUSTOMER.value)
        .where(col(Message.id) < message.id)
        .order_by(col(Message.id).desc())
        .limit(1)
    ).first()


class OutboxStore:
    def __init__(
        self, database: Database, bell: OutboxBell | None = None, threaded_channels: frozenset[str] = frozenset()
    ) -> None:
        self.database = database
        self.bell = bell
        # Only these channels answer in the thread of the customer's message: the others'
        # claims skip the lookup of the message they answer.
        self.threaded_channels = threaded_channels

    async def claim_due(self, limit: int, lease_s: float, now: datetime | None = None) -> list[OutboundMessage]:
        """Lease up to `limit` due rows, the oldest unsent one of each conversation only, each as
        what its channel's sender is handed (the claimed attempt is its `attempt`)."""

        def work(session: Session) -> list[OutboundMessage]:
            at = now or utcnow()
            older = aliased(OutboxItem)
            query = (
                select(OutboxItem, Conversation, Message)
                .join(Conversation, col(Conversation.id) == col(OutboxItem.conversation_id))
                .join(Message, col(Message.id) == col(OutboxItem.message_id))
                .where(col(OutboxItem.status).in_(UNSENT), col(OutboxItem.available_at) <= at)
                .where(
                    ~exists().where(
                        and_(
                            older.conversation_id == OutboxItem.conversation_id,
                            older.id < OutboxItem.id,  # type: ignore[operator]
                            older.status.in_(UNSENT),  # type: ignore[attr-defined]
                        )
                    )
                )
                .order_by(col(OutboxItem.id))
                .limit(limit)
                # Several server processes: each row goes to one of them.
                .with_for_update(skip_locked=True, of=OutboxItem)  # type: ignore[arg-type]
            )
            rows = session.exec(query).all()
            lease_until = at + timedelta(seconds=lease_s)
            claimed = []
            for item, conversation, message in rows:
                item.status = SENDING
                item.attempts += 1
                item.available_at = lease_until
                session.add(item)
                threaded = conversation.channel in self.threaded_channels
                assert item.id is not None
                claimed.append(
                    OutboundMessage(
                        outbox_id=item.id,
                        conversation_id=item.conversation_id,
                        channel=item.channel,
                        conversation_key=conversation.conversation_key,
                        channel_user_id=conversation.channel_user_id,
                        message=to_view(message),
                        attempt=item.attempts,
                        in_reply_to=_in_reply_to(session, message) if threaded else None,
                    )
                )
            session.commit()
            return claimed

        return await self.database.run(work)

    # Each takes the attempt the caller claimed: a sender whose lease ran out (and whose row
    # another sender took) must not overwrite the newer owner's outcome. False when it did not.
    async def mark_sent(self, outbox_id: int, attempt: int, provider_message_id: str | None) -> bool:
        return await self._finish(outbox_id, attempt, status=SENT, sent_at=utcnow(), provider_message_id=provider_message_id, last_error=None)

    async def retry_at(self, outbox_id: int, attempt: int, when: datetime, error: str) -> bool:
        return await self._finish(outbox_id, attempt, status=PENDING, available_at=when, last_error=error)

    async def mark_failed(self, outbox_id: int, attempt: int, error: str) -> bool:
        return await self._finish(outbox_id, attempt, status=FAILED, last_error=error)

    async def take_inline(self, message_id: int) -> bool:
        """Take a held reply for the channel to send itself; False if a sender already has it.

        A message that was never queued (its channel does not use the outbox) is the caller's.
        """

        def work(session: Session) -> bool:
            if _set_if_pending(session, message_id, status=INLINE, sent_at=utcnow()):
                return True
            return session.exec(select(OutboxItem.id).where(OutboxItem.message_id == message_id)).first() is None

        return await self.database.run(work)

    async def release(self, message_id: int) -> None:
        """End a reply's inline hold: it is due now."""
        if await self.database.run(lambda session: _set_if_pending(session, message_id, available_at=utcnow())):
            if self.bell is not None:
                self.bell.ring()

    async def backlog(self) -> OutboxBacklog:
        """How many replies are owed and not sent yet (waiting, held or being sent), and since when."""
        query = select(func.count(), func.min(OutboxItem.created_at)).where(col(OutboxItem.status).in_(UNSENT))

        def work(session: Session) -> OutboxBacklog:
            count, oldest = session.exec(query).one()
            return OutboxBacklog(int(count), as_utc(oldest) if oldest is not None else None)

        return await self.database.run(work)

    async def items(self, conversation_id: str) -> list[OutboxItem]:
        query = select(OutboxItem).where(OutboxItem.conversation_id == conversation_id).order_by(col(OutboxItem.id))
        return await self.database.run(lambda session: list(session.exec(query).all()))

    async def _finish(self, outbox_id: int, attempt: int, **values: object) -> bool:
        def work(session: Session) -> bool:
            result = session.execute(
                update(OutboxItem)
                .where(col(OutboxItem.id) == outbox_id, col(OutboxItem.attempts) == attempt)
                .where(col(OutboxItem.status) == SENDING)
                .values(**values)
            )
            session.commit()
            return bool(result.rowcount)  # type: ignore[attr-defined]

        return await self.database.run(work)


def _set_if_pending(session: Session, message_id: int, **values: object) -> bool:
    result = session.execute(
        update(OutboxItem)
        .where(col(OutboxItem.message_id) == message_id, col(OutboxItem.status) == PENDING)
        .values(**values)
    )
    session.commit()
    return bool(result.rowcount)  # type: ignore[attr-defined]

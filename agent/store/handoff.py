"""The handoff's units of work: claim, release, reopen, staff messages, notes, the queue.

Each state change is one transaction that re-reads the conversation (locked FOR UPDATE where
the database can) and changes it only if it is still in the expected state; callers get a
snapshot and whether it changed, and decide what a refusal means. What leaves this module are
views (agent.store.views), never rows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from agent.contracts import ConversationState, MessageView, NoteView, QueueItem, Role, StaffMember, utcnow
from agent.store.database import Database
from agent.store.outbox import NO_OUTBOX, OutboxRouting, enqueue
from agent.store.rows import conversation_view, escalation_view, note_view, staff_view, to_view, turn_views
from agent.store.tables import Conversation, Escalation, Message, Note, StaffUser, Turn
from agent.store.views import (
    CLAIMED,
    CLOSED,
    HANDED_BACK,
    OPEN,
    RESOLVED,
    HandoffRecord,
    Snapshot,
    StaffMessageResult,
    as_utc,
)

__all__ = [
    "CLAIMED", "CLOSED", "HANDED_BACK", "OPEN", "RESOLVED", "HandoffRecord", "HandoffStore", "Snapshot",
    "StaffMessageResult",
]

ACTIVE = (OPEN, CLAIMED)
# Staff replies share the messages table's dedupe key with channel ids; the prefix keeps them apart.
STAFF_ID_PREFIX = "staff:"


@dataclass(frozen=True, slots=True)
class _Seen:
    """The rows as the transaction saw them (after any change): what a state change decides on."""

    conversation: Conversation
    escalation: Escalation | None
    holder: StaffUser | None
    changed: bool
    notice: Message | None = None

    @property
    def state(self) -> ConversationState:
        return ConversationState(self.conversation.state)

    def view(self) -> Snapshot:
        escalation = escalation_view(self.escalation, self.holder) if self.escalation else None
        notice = to_view(self.notice) if self.notice else None
        return Snapshot(self.state, escalation, staff_view(self.holder) if self.holder else None, self.changed, notice)


def _lock_conversation(session: Session, conversation_id: str) -> Conversation | None:
    return session.exec(select(Conversation).where(Conversation.id == conversation_id).with_for_update()).first()


def _current_escalation(session: Session, conversation_id: str) -> Escalation | None:
    return session.exec(
        select(Escalation).where(Escalation.conversation_id == conversation_id).order_by(col(Escalation.id).desc())
    ).first()


def _snapshot(session: Session, conversation: Conversation, changed: bool, notice: Message | None = None) -> _Seen:
    escalation = _current_escalation(session, conversation.id)
    holder = session.get(StaffUser, escalation.claimed_by) if escalation and escalation.claimed_by else None
    return _Seen(conversation, escalation, holder, changed, notice)


def _holds(snapshot: _Seen, staff_id: int) -> bool:
    escalation = snapshot.escalation
    return (
        snapshot.state is ConversationState.WITH_HUMAN
        and escalation is not None
        and escalation.status == CLAIMED
        and escalation.claimed_by == staff_id
    )


def _set_state(conversation: Conversation, state: ConversationState) -> None:
    conversation.state = state.value
    conversation.updated_at = utcnow()


# Applies one state change to a locked conversation; False when its state does not allow it.
Transition = Callable[[Session, Conversation, _Seen], bool]


class HandoffStore:
    def __init__(
        self, database: Database, outbox: OutboxRouting = NO_OUTBOX, silent_channels: frozenset[str] = frozenset()
    ) -> None:
        self.database = database
        self.outbox = outbox
        # Channels whose customers cannot be told of a handoff change (a phone call that has
        # moved on to a transfer): no notice is stored there, so no transcript claims one was said.
        self.silent_channels = silent_channels

    async def queue(self) -> list[QueueItem]:
        """Conversations waiting for or held by a person, longest waiting first."""

        def work(session: Session) -> list[QueueItem]:
            rows = session.exec(
                select(Conversation, Escalation)
                .join(Escalation, col(Escalation.conversation_id) == col(Conversation.id))
                .where(
                    col(Escalation.status).in_(ACTIVE),
                    col(Conversation.state).in_([ConversationState.WAITING.value, ConversationState.WITH_HUMAN.value]),
                )
                .order_by(col(Escalation.created_at), col(Escalation.id))
            ).all()
            last_ids = dict(
                session.exec(
                    select(Message.conversation_id, func.max(Message.id))
                    .where(col(Message.conversation_id).in_([c.id for c, _ in rows]), Message.role == Role.CUSTOMER.value)
                    .group_by(col(Message.conversation_id))
                ).all()
            )
            texts = {
                m.conversation_id: m.text
                for m in session.exec(select(Message).where(col(Message.id).in_(list(last_ids.values())))).all()
            }
            return [
                QueueItem(
                    conversation_id=c.id,
                    channel=c.channel,
                    state=ConversationState(c.state),
                    reason=e.reason,
                    detail=e.detail,
                    escalated_at=as_utc(e.created_at),
                    claimed_by=_staff_member(session, e.claimed_by),
                    last_customer_text=texts.get(c.id),
                )
                for c, e in rows
            ]

        return await self.database.run(work)

    async def detail(self, conversation_id: str, message_limit: int = 500) -> HandoffRecord | None:
        def work(session: Session) -> HandoffRecord | None:
            conversation = session.get(Conversation, conversation_id)
            if conversation is None:
                return None
            messages = session.exec(
                select(Message)
                .where(Message.conversation_id == conversation_id)
                .order_by(col(Message.id).desc())
                .limit(message_limit)
            ).all()
            notes = session.exec(
                select(Note, StaffUser)
                .join(StaffUser, col(StaffUser.id) == col(Note.staff_id))
                .where(Note.conversation_id == conversation_id)
                .order_by(col(Note.id))
            ).all()
            escalations = session.exec(
                select(Escalation).where(Escalation.conversation_id == conversation_id).order_by(col(Escalation.id))
            ).all()
            turns = session.exec(select(Turn).where(Turn.conversation_id == conversation_id).order_by(col(Turn.id))).all()
            return HandoffRecord(
                conversation_view(conversation),
                [to_view(m) for m in reversed(messages)],
                [note_view(n, u.display_name) for n, u in notes],
                [escalation_view(e, session.get(StaffUser, e.claimed_by) if e.claimed_by else None) for e in escalations],
                turn_views(session, turns),
            )

        return await self.database.run(work)

    async def claim(self, conversation_id: str, staff_id: int, notice: str | None = None) -> Snapshot | None:
        """waiting → with_human, held by `staff_id`; None when there is no such conversation."""

        def change(session: Session, conversation: Conversation, before: _Seen) -> bool:
            escalation = before.escalation
            if before.state is not ConversationState.WAITING or escalation is None or escalation.status != OPEN:
                return False
            escalation.status, escalation.claimed_by, escalation.claimed_at = CLAIMED, staff_id, utcnow()
            _set_state(conversation, ConversationState.WITH_HUMAN)
            return True

        return await self._transition(conversation_id, change, notice)

    async def take_over(self, conversation_id: str, staff_id: int, notice: str | None = None) -> Snapshot | None:
        """with_human held by someone else → held by `staff_id` (an admin's reassignment)."""

        def change(session: Session, conversation: Conversation, before: _Seen) -> bool:
            escalation = before.escalation
            if before.state is not ConversationState.WITH_HUMAN or escalation is None or escalation.status != CLAIMED:
                return False
            if escalation.claimed_by == staff_id:
                return False
            escalation.claimed_by, escalation.claimed_at = staff_id, utcnow()
            conversation.updated_at = utcnow()
            return True

        return await self._transition(conversation_id, change, notice)

    async def release(
        self, conversation_id: str, staff_id: int, new_state: ConversationState, status: str, notice: str | None = None
    ) -> Snapshot | None:
        """with_human (held by `staff_id`) → `new_state`, closing the escalation with `status`."""

        def change(session: Session, conversation: Conversation, before: _Seen) -> bool:
            if not _holds(before, staff_id):
                return False
            assert before.escalation is not None
            before.escalation.status, before.escalation.resolved_at = status, utcnow()
            _set_state(conversation, new_state)
            return True

        return await self._transition(conversation_id, change, notice)

    async def close_unclaimed(self, conversation_id: str, notice: str | None = None) -> Snapshot | None:
        """waiting, claimed by nobody → bot, closing the escalation unanswered (status `closed`)."""

        def change(session: Session, conversation: Conversation, before: _Seen) -> bool:
            escalation = before.escalation
            if before.state is not ConversationState.WAITING or escalation is None or escalation.status != OPEN:
                return False
            escalation.status, escalation.resolved_at = CLOSED, utcnow()
            _set_state(conversation, ConversationState.BOT)
            return True

        return await self._transition(conversation_id, change, notice)

    async def reopen(self, conversation_id: str, staff_id: int, notice: str | None = None) -> Snapshot | None:
        """resolved (or back with the bot) → with_human, under a new escalation held by `staff_id`."""

        def change(session: Session, conversation: Conversation, before: _Seen) -> bool:
            if before.state not in (ConversationState.RESOLVED, ConversationState.BOT) or before.escalation is None:
                return False
            now = utcnow()
            session.add(
                Escalation(
                    conversation_id=conversation_id,
                    reason="reopened",
                    detail=f"reopened after escalation {before.escalation.id}",
                    status=CLAIMED,
                    claimed_by=staff_id,
                    claimed_at=now,
                    created_at=now,
                )
            )
            _set_state(conversation, ConversationState.WITH_HUMAN)
            return True

        return await self._transition(conversation_id, change, notice)

    def _tell(self, session: Session, conversation: Conversation, text: str) -> Message | None:
        """Store a notice for the customer and queue it for their channel, in the caller's unit of
        work; nothing on a channel that cannot carry it, so no transcript claims it was said."""
        if conversation.channel in self.silent_channels:
            return None
        message = Message(conversation_id=conversation.id, role=Role.SYSTEM.value, text=text)
        session.add(message)
        session.flush()
        enqueue(session, self.outbox, conversation, message)
        return message

    async def _transition(self, conversation_id: str, change: Transition, notice: str | None = None) -> Snapshot | None:
        """Lock the conversation, let `change` apply itself if the state allows, and report the outcome.

        None when there is no such conversation; an unchanged snapshot when `change` declined.
        A `notice` for the customer is stored (and queued for their channel) only with the change.
        """

        def work(session: Session) -> Snapshot | None:
            conversation = _lock_conversation(session, conversation_id)
            if conversation is None:
                return None
            before = _snapshot(session, conversation, changed=False)
            if not change(session, conversation, before):
                return before.view()
            message = self._tell(session, conversation, notice) if notice else None
            session.commit()
            return _snapshot(session, conversation, changed=True, notice=message).view()

        snapshot = await self.database.run(work)
        if snapshot is not None and snapshot.notice is not None:
            self.outbox.ring()
        return snapshot

    async def staff_message(
        self, conversation_id: str, staff_id: int, author: str, text: str, client_message_id: str | None
    ) -> StaffMessageResult | None:
        """Store a staff reply if `staff_id` holds the conversation; a repeated client id returns the first."""
        channel_id = STAFF_ID_PREFIX + client_message_id if client_message_id else None

        def work(session: Session) -> StaffMessageResult | None:
            conversation = _lock_conversation(session, conversation_id)
            if conversation is None:
                return None
            seen = _snapshot(session, conversation, changed=False)
            snapshot = seen.view()
            if channel_id:
                existing = session.exec(
                    select(Message).where(
                        Message.conversation_id == conversation_id, Message.channel_message_id == channel_id
                    )
                ).first()
                if existing is not None:
                    return StaffMessageResult(snapshot, to_view(existing), duplicate=True)
            if not _holds(seen, staff_id):
                return StaffMessageResult(snapshot, None)
            message = Message(
                conversation_id=conversation_id,
                role=Role.STAFF.value,
                text=text,
                author=author,
                channel_message_id=channel_id,
            )
            session.add(message)
            conversation.updated_at = utcnow()
            try:
                session.flush()
                enqueue(session, self.outbox, conversation, message)
                session.commit()
            except IntegrityError:
                # The same retry raced past the look-up above.
                session.rollback()
                existing = session.exec(
                    select(Message).where(
                        Message.conversation_id == conversation_id, Message.channel_message_id == channel_id
                    )
                ).first()
                if existing is None:
                    raise
                return StaffMessageResult(snapshot, to_view(existing), duplicate=True)
            return StaffMessageResult(snapshot, to_view(message))

        result = await self.database.run(work)
        if result is not None and result.message is not None and not result.duplicate:
            self.outbox.ring()
        return result

    async def unclaimed(self, escalated_before: datetime) -> list[str]:
        """Conversations still waiting, escalated before then, whose customer was not told yet."""
        query = (
            select(Escalation.conversation_id)
            .join(Conversation, col(Conversation.id) == col(Escalation.conversation_id))
            .where(
                Escalation.status == OPEN,
                col(Escalation.unclaimed_notice_at).is_(None),
                col(Escalation.created_at) < escalated_before,
                Conversation.state == ConversationState.WAITING.value,
            )
        )
        return await self.database.run(lambda session: list(session.exec(query).all()))

    async def post_unclaimed_notice(self, conversation_id: str, text: str) -> MessageView | None:
        """Tell the customer once per escalation, only if it is still open and unclaimed."""

        def work(session: Session) -> MessageView | None:
            conversation = _lock_conversation(session, conversation_id)
            if conversation is None or conversation.state != ConversationState.WAITING.value:
                return None
            escalation = _current_escalation(session, conversation_id)
            if escalation is None or escalation.status != OPEN or escalation.unclaimed_notice_at is not None:
                return None
            escalation.unclaimed_notice_at = utcnow()  # once, even where the channel cannot carry it
            session.add(escalation)
            message = self._tell(session, conversation, text)
            session.commit()
            return to_view(message) if message else None

        message = await self.database.run(work)
        if message is not None:
            self.outbox.ring()
        return message

    async def add_note(self, conversation_id: str, staff_id: int, text: str) -> NoteView | None:
        def work(session: Session) -> NoteView | None:
            if session.get(Conversation, conversation_id) is None:
                return None
            note = Note(conversation_id=conversation_id, staff_id=staff_id, text=text)
            session.add(note)
            session.commit()
            author = session.get(StaffUser, staff_id)
            return note_view(note, author.display_name if author else "")

        return await self.database.run(work)


def _staff_member(session: Session, staff_id: int | None) -> StaffMember | None:
    user = session.get(StaffUser, staff_id) if staff_id else None
    return staff_view(user) if user else None

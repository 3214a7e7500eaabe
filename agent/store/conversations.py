"""Queries: every read and write the manager makes, each one short transaction."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import asdict
from datetime import datetime

from alembic.runtime.migration import MigrationContext
from sqlalchemy import and_, text, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from agent.contracts import ConversationState, InboundMessage, MessageView, PendingAction, Role, utcnow
from agent.store.database import Database
from agent.store.outbox import NO_OUTBOX, OutboxRouting, enqueue
from agent.store.records import KEEP, CallRecord, TurnAlreadyDone, TurnRecord, UnknownConversation
from agent.store.rows import (
    conversation_view,
    pending_column,
    sources_column,
    sources_of,
    to_view,
    tool_call_row,
    turn_view,
    turn_views,
)
from agent.store.tables import Conversation, Escalation, Message, ModelCall, Turn
from agent.store.views import ConversationView, SavedInbound, StoredContext, TurnView

__all__ = [
    "CallRecord",
    "ConversationStore",
    "SavedInbound",
    "StoredContext",
    "TurnAlreadyDone",
    "TurnRecord",
    "UnknownConversation",
]

MAX_MESSAGE_ID = 2**31 - 1


class ConversationStore:
    """The manager's queries. Each public method is one unit of work on the database."""

    def __init__(self, database: Database, outbox: OutboxRouting = NO_OUTBOX) -> None:
        self.database = database
        self.outbox = outbox

    async def ping(self) -> None:
        await self.database.run(lambda session: session.exec(text("SELECT 1")))  # type: ignore[call-overload]

    async def schema_revision(self) -> str | None:
        return await self.database.run(
            lambda session: MigrationContext.configure(session.connection()).get_current_revision()
        )

    async def create_conversation(self, channel: str, conversation_key: str, channel_user_id: str) -> ConversationView:
        def work(session: Session) -> ConversationView:
            conversation = Conversation(channel=channel, conversation_key=conversation_key, channel_user_id=channel_user_id)
            session.add(conversation)
            session.commit()
            return conversation_view(conversation)

        return await self.database.run(work)

    async def get_conversation(self, conversation_id: str) -> ConversationView | None:
        def work(session: Session) -> ConversationView | None:
            conversation = session.get(Conversation, conversation_id)
            return conversation_view(conversation) if conversation else None

        return await self.database.run(work)

    async def conversation_by_key(self, channel: str, conversation_key: str) -> ConversationView | None:
        def work(session: Session) -> ConversationView | None:
            conversation = _conversation_by_key(session, channel, conversation_key)
            return conversation_view(conversation) if conversation else None

        return await self.database.run(work)

    async def end_conversation(self, conversation_id: str, note: str) -> tuple[ConversationView, MessageView] | None:
        """Store `note` as a system message (never sent) and resolve a conversation the bot had.

        One waiting for or held by a person keeps its state: staff still have to follow up.
        None when there is no such conversation, or it was already ended with this very note:
        a channel's repeated end callback (Twilio retries them) changes nothing.
        """

        def work(session: Session) -> tuple[ConversationView, MessageView] | None:
            conversation = session.exec(
                select(Conversation).where(Conversation.id == conversation_id).with_for_update()
            ).first()
            if conversation is None:
                return None
            # After the row lock (PostgreSQL): two deliveries at once still store one note.
            noted = session.exec(
                select(Message.id).where(
                    Message.conversation_id == conversation_id, Message.role == Role.SYSTEM.value, Message.text == note
                )
            ).first()
            if noted is not None:
                return None
            # Added straight to the table, not through the outbox: the session it is about is over.
            message = Message(conversation_id=conversation_id, role=Role.SYSTEM.value, text=note)
            session.add(message)
            if conversation.state == ConversationState.BOT.value:
                conversation.state = ConversationState.RESOLVED.value
            conversation.updated_at = utcnow()
            session.add(conversation)
            session.commit()
            return conversation_view(conversation), to_view(message)

        return await self.database.run(work)

    async def save_inbound(self, inbound: InboundMessage) -> SavedInbound:
        """Store a customer's message (finding or opening its conversation) and commit it.

        A message whose channel id was stored before comes back as a duplicate, untouched.
        """
        return await self.database.run(lambda session: _save_inbound(session, inbound))

    async def turn_for(self, inbound_message_id: int) -> tuple[TurnView, MessageView | None] | None:
        """The turn an inbound message started, with its reply, if it finished."""
        return await self.database.run(lambda session: _turn_for(session, inbound_message_id))

    async def open_conversation_for(self, inbound: InboundMessage) -> ConversationView:
        """The conversation a message belongs to, opened if it is the first (in a transaction of its own)."""

        def work(session: Session) -> ConversationView:
            conversation = _resolve_conversation(session, inbound)
            session.commit()
            return conversation_view(conversation)

        return await self.database.run(work)

    async def context(self, conversation_id: str, message_id: int, limit: int) -> StoredContext:
        """What a turn for `message_id` sees: the conversation, its last `limit` messages up to
        and including that one (never one stored after it), and the turn, if it already ran."""

        def work(session: Session) -> StoredContext:
            conversation = session.get(Conversation, conversation_id)
            if conversation is None:
                raise UnknownConversation(conversation_id)
            rows = list(
                reversed(
                    session.exec(
                        select(Message)
                        .where(Message.conversation_id == conversation_id, col(Message.id) <= message_id)
                        .order_by(col(Message.id).desc())
                        .limit(limit)
                    ).all()
                )
            )
            recent = [to_view(m) for m in _with_late_replies(session, rows, limit)]
            return StoredContext(conversation_view(conversation), recent, _turn_for(session, message_id))

        return await self.database.run(work)

    async def messages(self, conversation_id: str, after: int | None = None, limit: int = 200) -> list[MessageView]:
        """The conversation's messages, oldest first, each bot answer with the sources its turn cites."""
        query = (
            select(Message, Turn.sources)
            # The turn that wrote each answer, found through the conversation's index on turns:
            # reply_message_id has none.
            .outerjoin(Turn, and_(col(Turn.conversation_id) == conversation_id, col(Turn.reply_message_id) == col(Message.id)))
            .where(Message.conversation_id == conversation_id)
        )
        if after is not None:
            # Past the id column's range (INTEGER: 32 bits on PostgreSQL) nothing can follow.
            query = query.where(col(Message.id) > min(after, MAX_MESSAGE_ID))
        query = query.order_by(col(Message.id)).limit(limit)
        return await self.database.run(
            lambda session: [to_view(m, sources_of(sources)) for m, sources in session.exec(query).all()]
        )

    async def finish_turn(self, record: TurnRecord) -> tuple[TurnView, MessageView | None]:
        """Write the turn, its model calls, the reply and any state change atomically."""
        turn, reply, queued = await self.database.run(lambda session: _finish_turn_once(session, record, self.outbox))
        if queued:
            self.outbox.ring()
        return turn, reply

    async def unanswered(
        self, channels: Collection[str], until: datetime, since: datetime | None = None, after_id: int = 0, limit: int = 500
    ) -> list[tuple[ConversationView, MessageView]]:
        """Customer messages on `channels` stored up to `until` (and from `since`) that no turn ever
        took up, oldest first, one page of `limit` after the message id `after_id`."""
        query = (
            select(Conversation, Message)
            .join(Message, col(Message.conversation_id) == col(Conversation.id))
            .where(col(Conversation.channel).in_(list(channels)), Message.role == Role.CUSTOMER.value)
            .where(col(Message.id) > after_id, col(Message.created_at) <= until)
            .where(~col(Message.id).in_(select(Turn.inbound_message_id)))
        )
        if since is not None:
            query = query.where(col(Message.created_at) >= since)
        query = query.order_by(col(Message.id)).limit(limit)
        return await self.database.run(
            lambda session: [(conversation_view(c), to_view(m)) for c, m in session.exec(query).all()]
        )

    async def model_calls(self, conversation_id: str) -> list[ModelCall]:
        query = (
            select(ModelCall)
            .join(Turn, col(Turn.id) == col(ModelCall.turn_id))
            .where(Turn.conversation_id == conversation_id)
            .order_by(col(ModelCall.id))
        )
        return await self.database.run(lambda session: list(session.exec(query).all()))

    async def turns(self, conversation_id: str) -> list[TurnView]:
        query = select(Turn).where(Turn.conversation_id == conversation_id).order_by(col(Turn.id))
        return await self.database.run(lambda session: turn_views(session, session.exec(query).all()))

    async def escalations(self, conversation_id: str) -> list[Escalation]:
        query = select(Escalation).where(Escalation.conversation_id == conversation_id).order_by(col(Escalation.id))
        return await self.database.run(lambda session: list(session.exec(query).all()))

    async def close(self) -> None:
        await self.database.dispose()


def call_row(call: CallRecord, turn_id: int, route: str | None) -> ModelCall:
    """A model attempt's stored row: the record's fields carry the columns' names."""
    return ModelCall(turn_id=turn_id, route=route, **asdict(call))


def _with_late_replies(session: Session, rows: list[Message], limit: int) -> list[Message]:
    """Put back the answers to earlier messages that were stored after the turn's own message
    (the customer wrote again while they were being written), each right after its question."""
    if not rows:
        return rows
    first, own = rows[0], rows[-1]
    late = session.exec(
        select(Turn.inbound_message_id, Message)
        .join(Message, col(Message.id) == col(Turn.reply_message_id))
        .where(
            Turn.conversation_id == own.conversation_id,
            col(Turn.inbound_message_id) >= first.id,
            col(Turn.inbound_message_id) < own.id,
            col(Turn.reply_message_id) > own.id,
        )
    ).all()
    if not late:
        return rows
    after = {inbound_id: reply for inbound_id, reply in late}
    merged: list[Message] = []
    for message in rows:
        merged.append(message)
        if message.id in after:
            merged.append(after[message.id])
    return merged[-limit:]


def _turn_for(session: Session, inbound_message_id: int) -> tuple[TurnView, MessageView | None] | None:
    turn = session.exec(select(Turn).where(Turn.inbound_message_id == inbound_message_id)).first()
    if turn is None:
        return None
    reply = session.get(Message, turn.reply_message_id) if turn.reply_message_id else None
    [view] = turn_views(session, [turn])
    return view, to_view(reply, view.sources) if reply else None


def _conversation_by_key(session: Session, channel: str, key: str) -> Conversation | None:
    return session.exec(
        select(Conversation).where(Conversation.channel == channel, Conversation.conversation_key == key)
    ).first()


def _message_by_channel_id(session: Session, conversation_id: str, channel_message_id: str | None) -> Message | None:
    return session.exec(
        select(Message).where(
            Message.conversation_id == conversation_id, Message.channel_message_id == channel_message_id
        )
    ).first()


def _resolve_conversation(session: Session, inbound: InboundMessage) -> Conversation:
    if inbound.conversation_id:
        conversation = session.get(Conversation, inbound.conversation_id)
        if conversation is None or conversation.channel != inbound.channel:
            raise UnknownConversation(inbound.conversation_id)
        return conversation
    found = _conversation_by_key(session, inbound.channel, inbound.conversation_key)
    if found:
        return found
    conversation = Conversation(
        channel=inbound.channel, conversation_key=inbound.conversation_key, channel_user_id=inbound.channel_user_id
    )
    session.add(conversation)
    try:
        session.flush()
    except IntegrityError:
        # Another process opened it between our look-up and insert.
        session.rollback()
        raced = _conversation_by_key(session, inbound.channel, inbound.conversation_key)
        if raced is None:
            raise
        return raced
    return conversation


def _save_inbound(session: Session, inbound: InboundMessage) -> SavedInbound:
    conversation = _resolve_conversation(session, inbound)
    conversation_id = conversation.id  # a rollback below would expire the object
    if inbound.provider_message_id:
        existing = _message_by_channel_id(session, conversation_id, inbound.provider_message_id)
        if existing:
            return SavedInbound(conversation_view(conversation), to_view(existing), duplicate=True)
    message = Message(
        conversation_id=conversation_id,
        role=Role.CUSTOMER.value,
        text=inbound.text,
        channel_message_id=inbound.provider_message_id,
        created_at=inbound.received_at,
    )
    session.add(message)
    try:
        session.commit()
    except IntegrityError:
        # Two deliveries of one message raced past the check above.
        session.rollback()
        existing = _message_by_channel_id(session, conversation_id, inbound.provider_message_id)
        found = session.get(Conversation, conversation_id)
        if existing is None or found is None:
            raise
        return SavedInbound(conversation_view(found), to_view(existing), duplicate=True)
    return SavedInbound(conversation_view(conversation), to_view(message), duplicate=False)


def _finish_turn_once(
    session: Session, record: TurnRecord, outbox: OutboxRouting
) -> tuple[TurnView, MessageView | None, bool]:
    try:
        return _finish_turn(session, record, outbox)
    except IntegrityError:
        # Only when a turn outlived its place in line (a stalled process): the first one stays.
        session.rollback()
        done = _turn_for(session, record.inbound_message_id)
        if done is None:
            raise
        raise TurnAlreadyDone(*done) from None


def _finish_turn(session: Session, record: TurnRecord, outbox: OutboxRouting) -> tuple[TurnView, MessageView | None, bool]:
    reply = None
    queued = False
    if record.reply_text is not None:
        reply = Message(conversation_id=record.conversation_id, role=record.reply_role.value, text=record.reply_text)
        session.add(reply)
        session.flush()
        if outbox.holds:
            conversation = session.get(Conversation, record.conversation_id)
            assert conversation is not None
            # Held: a channel that can answer inside its webhook gets the first chance to.
            queued = enqueue(session, outbox, conversation, reply, hold=True)
    turn = Turn(
        conversation_id=record.conversation_id,
        inbound_message_id=record.inbound_message_id,
        reply_message_id=reply.id if reply else None,
        intent=record.intent,
        route=record.route,
        confidence=record.confidence,
        tier=record.tier,
        outcome=record.outcome,
        model=record.model,
        latency_ms=record.latency_ms,
        sources=sources_column(record.sources),
    )
    session.add(turn)
    session.flush()
    assert turn.id is not None
    session.add_all(call_row(call, turn.id, record.route) for call in record.calls)
    tool_rows = [tool_call_row(call, turn.id) for call in record.tool_calls]
    session.add_all(tool_rows)
    changes: dict[str, object] = {"updated_at": utcnow()}
    if record.pending_action is not KEEP:
        assert record.pending_action is None or isinstance(record.pending_action, PendingAction)
        changes["pending_action"] = pending_column(record.pending_action)
    if record.verified_customer:
        changes["verified_customer"] = record.verified_customer
    if record.verify_failures is not None:
        changes["verify_failures"] = record.verify_failures
    if record.route:
        changes["route"] = record.route
    if record.new_state:
        changes["state"] = record.new_state.value
    if record.unknown_streak is not None:
        changes["unknown_streak"] = record.unknown_streak
    session.execute(update(Conversation).where(col(Conversation.id) == record.conversation_id).values(**changes))
    if record.escalation_reason:
        session.add(
            Escalation(
                conversation_id=record.conversation_id,
                turn_id=turn.id,
                reason=record.escalation_reason,
                detail=record.escalation_detail,
            )
        )
    session.commit()
    view = turn_view(turn, tool_rows)
    return view, to_view(reply, view.sources) if reply else None, queued

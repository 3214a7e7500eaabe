"""Queries: every read and write the manager makes, each one short transaction."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone

from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from agent.contracts import ConversationState, InboundMessage, Role, utcnow
from agent.store.tables import Conversation, Escalation, Message, ModelCall, Turn


class UnknownConversation(LookupError):
    """No conversation with that id (or it belongs to another channel)."""


@dataclass(frozen=True, slots=True)
class CallRecord:
    """One model attempt, as the manager hands it to the store."""

    model: str
    provider: str
    outcome: str
    latency_ms: float
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    error: str | None = None


@dataclass(frozen=True, slots=True)
class TurnRecord:
    """Everything a finished turn writes, in one transaction."""

    conversation_id: str
    inbound_message_id: int
    outcome: str
    latency_ms: float
    reply_text: str | None = None
    reply_role: Role = Role.BOT
    intent: str | None = None
    route: str | None = None
    confidence: float | None = None
    tier: str | None = None
    model: str | None = None
    calls: list[CallRecord] = field(default_factory=list)
    new_state: ConversationState | None = None
    escalation_reason: str | None = None
    escalation_detail: str | None = None


@dataclass(frozen=True, slots=True)
class SavedInbound:
    conversation: Conversation
    message: Message
    duplicate: bool


def as_utc(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes; everything we store is UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


class Store:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._sessions = async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)

    async def ping(self) -> None:
        async with self.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    async def create_conversation(self, channel: str, conversation_key: str, channel_user_id: str) -> Conversation:
        conversation = Conversation(channel=channel, conversation_key=conversation_key, channel_user_id=channel_user_id)
        async with self._sessions() as session:
            session.add(conversation)
            await session.commit()
        return conversation

    async def get_conversation(self, conversation_id: str) -> Conversation | None:
        async with self._sessions() as session:
            return await session.get(Conversation, conversation_id)

    async def save_inbound(self, inbound: InboundMessage) -> SavedInbound:
        """Store a customer's message (finding or opening its conversation) and commit it.

        A message whose channel id was stored before comes back as a duplicate, untouched.
        """
        async with self._sessions() as session:
            conversation = await self._resolve_conversation(session, inbound)
            if inbound.provider_message_id:
                existing = await self._find_message(session, conversation.id, inbound.provider_message_id)
                if existing:
                    return SavedInbound(conversation, existing, duplicate=True)
            message = Message(
                conversation_id=conversation.id,
                role=Role.CUSTOMER.value,
                text=inbound.text,
                channel_message_id=inbound.provider_message_id,
                created_at=inbound.received_at,
            )
            session.add(message)
            conversation_id = conversation.id  # a rollback expires the object
            try:
                await session.commit()
            except IntegrityError:
                # Two deliveries of one message raced past the check above.
                await session.rollback()
                existing = await self._find_message(session, conversation_id, inbound.provider_message_id)
                found = await session.get(Conversation, conversation_id)
                if existing is None or found is None:
                    raise
                return SavedInbound(found, existing, duplicate=True)
            return SavedInbound(conversation, message, duplicate=False)

    async def _resolve_conversation(self, session: AsyncSession, inbound: InboundMessage) -> Conversation:
        if inbound.conversation_id:
            conversation = await session.get(Conversation, inbound.conversation_id)
            if conversation is None or conversation.channel != inbound.channel:
                raise UnknownConversation(inbound.conversation_id)
            return conversation
        found = (
            await session.exec(
                select(Conversation).where(
                    Conversation.channel == inbound.channel,
                    Conversation.conversation_key == inbound.conversation_key,
                )
            )
        ).first()
        if found:
            return found
        conversation = Conversation(
            channel=inbound.channel,
            conversation_key=inbound.conversation_key,
            channel_user_id=inbound.channel_user_id,
        )
        session.add(conversation)
        try:
            await session.flush()
        except IntegrityError:
            await session.rollback()
            return (
                await session.exec(
                    select(Conversation).where(
                        Conversation.channel == inbound.channel,
                        Conversation.conversation_key == inbound.conversation_key,
                    )
                )
            ).one()
        return conversation

    @staticmethod
    async def _find_message(session: AsyncSession, conversation_id: str, channel_message_id: str | None) -> Message | None:
        return (
            await session.exec(
                select(Message).where(
                    Message.conversation_id == conversation_id,
                    Message.channel_message_id == channel_message_id,
                )
            )
        ).first()

    async def turn_for(self, inbound_message_id: int) -> tuple[Turn, Message | None] | None:
        """The turn an inbound message started, with its reply, if it finished."""
        async with self._sessions() as session:
            turn = (await session.exec(select(Turn).where(Turn.inbound_message_id == inbound_message_id))).first()
            if turn is None:
                return None
            reply = await session.get(Message, turn.reply_message_id) if turn.reply_message_id else None
            return turn, reply

    async def context(self, conversation_id: str, limit: int) -> tuple[Conversation, list[Message]]:
        """The conversation and its last `limit` messages, oldest first."""
        async with self._sessions() as session:
            conversation = await session.get(Conversation, conversation_id)
            if conversation is None:
                raise UnknownConversation(conversation_id)
            rows = (
                await session.exec(
                    select(Message)
                    .where(Message.conversation_id == conversation_id)
                    .order_by(col(Message.id).desc())
                    .limit(limit)
                )
            ).all()
            return conversation, list(reversed(rows))

    async def messages(self, conversation_id: str, after: int | None = None, limit: int = 200) -> list[Message]:
        async with self._sessions() as session:
            query = select(Message).where(Message.conversation_id == conversation_id)
            if after is not None:
                query = query.where(col(Message.id) > after)
            return list((await session.exec(query.order_by(col(Message.id)).limit(limit))).all())

    async def finish_turn(self, record: TurnRecord) -> tuple[Turn, Message | None]:
        """Write the turn, its model calls, the reply and any state change atomically."""
        async with self._sessions() as session:
            reply = None
            if record.reply_text is not None:
                reply = Message(conversation_id=record.conversation_id, role=record.reply_role.value, text=record.reply_text)
                session.add(reply)
                await session.flush()
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
            )
            session.add(turn)
            await session.flush()
            assert turn.id is not None
            for call in record.calls:
                session.add(
                    ModelCall(
                        turn_id=turn.id,
                        route=record.route,
                        model=call.model,
                        provider=call.provider,
                        outcome=call.outcome,
                        error=call.error,
                        latency_ms=call.latency_ms,
                        input_tokens=call.input_tokens,
                        output_tokens=call.output_tokens,
                        cost_usd=call.cost_usd,
                    )
                )
            conversation = await session.get(Conversation, record.conversation_id)
            assert conversation is not None
            if record.route:
                conversation.route = record.route
            if record.new_state:
                conversation.state = record.new_state.value
            conversation.updated_at = utcnow()
            session.add(conversation)
            if record.escalation_reason:
                session.add(
                    Escalation(
                        conversation_id=record.conversation_id,
                        turn_id=turn.id,
                        reason=record.escalation_reason,
                        detail=record.escalation_detail,
                    )
                )
            await session.commit()
            return turn, reply

    async def model_calls(self, conversation_id: str) -> list[ModelCall]:
        async with self._sessions() as session:
            query = (
                select(ModelCall)
                .join(Turn, col(Turn.id) == col(ModelCall.turn_id))
                .where(Turn.conversation_id == conversation_id)
                .order_by(col(ModelCall.id))
            )
            return list((await session.exec(query)).all())

    async def turns(self, conversation_id: str) -> list[Turn]:
        async with self._sessions() as session:
            query = select(Turn).where(Turn.conversation_id == conversation_id).order_by(col(Turn.id))
            return list((await session.exec(query)).all())

    async def escalations(self, conversation_id: str) -> list[Escalation]:
        async with self._sessions() as session:
            query = select(Escalation).where(Escalation.conversation_id == conversation_id).order_by(col(Escalation.id))
            return list((await session.exec(query)).all())

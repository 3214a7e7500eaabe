"""Table rows turned into views: the one place a row becomes what leaves the store."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence

from agent.contracts import ConversationState, EscalationView, MessageView, NoteView, Role, Source, StaffMember, StaffRole
from agent.store.tables import Conversation, Escalation, Message, Note, StaffUser, Turn
from agent.store.views import ConversationView, TurnView, as_utc


def to_view(message: Message, sources: tuple[Source, ...] = ()) -> MessageView:
    """`sources`: what the turn that wrote this answer cites, when it was read with the message."""
    assert message.id is not None
    return MessageView(
        id=message.id,
        role=Role(message.role),
        text=message.text,
        created_at=as_utc(message.created_at),
        author=message.author,
        conversation_id=message.conversation_id,
        channel_message_id=message.channel_message_id,
        sources=sources,
    )


def conversation_view(conversation: Conversation) -> ConversationView:
    return ConversationView(
        id=conversation.id,
        channel=conversation.channel,
        conversation_key=conversation.conversation_key,
        channel_user_id=conversation.channel_user_id,
        state=ConversationState(conversation.state),
        route=conversation.route,
        unknown_streak=conversation.unknown_streak,
        created_at=as_utc(conversation.created_at),
        updated_at=as_utc(conversation.updated_at),
    )


def turn_view(turn: Turn) -> TurnView:
    assert turn.id is not None
    return TurnView(
        id=turn.id,
        conversation_id=turn.conversation_id,
        inbound_message_id=turn.inbound_message_id,
        reply_message_id=turn.reply_message_id,
        intent=turn.intent,
        route=turn.route,
        confidence=turn.confidence,
        tier=turn.tier,
        outcome=turn.outcome,
        model=turn.model,
        latency_ms=turn.latency_ms,
        created_at=as_utc(turn.created_at),
        sources=sources_of(turn.sources),
    )


def sources_column(sources: Sequence[Source]) -> str | None:
    return json.dumps([dataclasses.asdict(s) for s in sources]) if sources else None


def sources_of(column: str | None) -> tuple[Source, ...]:
    return tuple(Source(**item) for item in json.loads(column)) if column else ()


def staff_view(user: StaffUser) -> StaffMember:
    assert user.id is not None
    return StaffMember(id=user.id, username=user.username, display_name=user.display_name, role=StaffRole(user.role))


def note_view(note: Note, author: str) -> NoteView:
    assert note.id is not None
    return NoteView(
        id=note.id, conversation_id=note.conversation_id, author=author, text=note.text, created_at=as_utc(note.created_at)
    )


def escalation_view(escalation: Escalation, holder: StaffUser | None) -> EscalationView:
    return EscalationView(
        id=escalation.id or 0,
        reason=escalation.reason,
        detail=escalation.detail,
        status=escalation.status,
        created_at=as_utc(escalation.created_at),
        claimed_by=staff_view(holder) if holder else None,
        claimed_at=as_utc(escalation.claimed_at) if escalation.claimed_at else None,
        resolved_at=as_utc(escalation.resolved_at) if escalation.resolved_at else None,
    )

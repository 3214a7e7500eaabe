"""Table rows turned into views: the one place a row becomes what leaves the store."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Collection, Sequence

from sqlmodel import Session, col, select

from agent.contracts import (
    ConversationState,
    EscalationView,
    MessageView,
    NoteView,
    PendingAction,
    Role,
    Source,
    StaffMember,
    StaffRole,
    ToolCallRecord,
    ToolOutcome,
)
from agent.store.tables import Conversation, Escalation, Message, Note, StaffUser, ToolCallRow, Turn
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
        verified_customer=conversation.verified_customer,
        verify_failures=conversation.verify_failures or 0,
        pending_action=pending_of(conversation.pending_action),
    )


def pending_column(action: PendingAction | None) -> str | None:
    if action is None:
        return None
    return json.dumps(
        {"tool": action.tool, "arguments": dict(action.arguments), "question": action.question, "route": action.route}
    )


def pending_of(column: str | None) -> PendingAction | None:
    if not column:
        return None
    data = json.loads(column)
    return PendingAction(data["tool"], data.get("arguments") or {}, data.get("question") or "", data.get("route"))


def tool_call_row(call: ToolCallRecord, turn_id: int) -> ToolCallRow:
    return ToolCallRow(
        turn_id=turn_id,
        tool=call.tool,
        step=call.step,
        arguments=json.dumps(dict(call.arguments), default=str),
        outcome=call.outcome.value,
        error=call.error,
        latency_ms=call.latency_ms,
        response_bytes=call.response_bytes,
        confirmation=call.confirmation,
    )


def tool_call_view(row: ToolCallRow) -> ToolCallRecord:
    return ToolCallRecord(
        tool=row.tool,
        arguments=json.loads(row.arguments or "{}"),
        outcome=ToolOutcome(row.outcome),
        latency_ms=row.latency_ms,
        step=row.step,
        response_bytes=row.response_bytes,
        error=row.error,
        confirmation=row.confirmation,
    )


def turn_view(turn: Turn, tool_calls: Sequence[ToolCallRow] = ()) -> TurnView:
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
        tool_calls=tuple(tool_call_view(row) for row in tool_calls),
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


def turn_views(session: Session, turns: Collection[Turn]) -> list[TurnView]:
    """Turns with their tool calls, read in one more query."""
    ids = [t.id for t in turns if t.id is not None]
    calls: dict[int, list[ToolCallRow]] = {}
    if ids:
        for row in session.exec(select(ToolCallRow).where(col(ToolCallRow.turn_id).in_(ids)).order_by(col(ToolCallRow.id))):
            calls.setdefault(row.turn_id, []).append(row)
    return [turn_view(t, calls.get(t.id or 0, ())) for t in turns]

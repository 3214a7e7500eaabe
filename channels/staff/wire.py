"""The staff console's JSON: the queue, a conversation's detail, its messages and notes, staff
members, and the live events of the staff topic."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from agent.contracts import (
    ConversationDetail,
    ConversationEvent,
    ConversationState,
    EscalationView,
    MessageView,
    NoteView,
    QueueItem,
    RouteStep,
    StaffMember,
    StaffSession,
    utcnow,
)


def staff_json(staff: StaffMember) -> dict[str, Any]:
    return {"id": staff.id, "username": staff.username, "display_name": staff.display_name, "role": staff.role.value}


def session_json(session: StaffSession) -> dict[str, Any]:
    return {
        "staff": staff_json(session.staff),
        "csrf_token": session.csrf_token,
        "expires_at": session.expires_at.isoformat(),
    }


def message_json(message: MessageView) -> dict[str, Any]:
    return {
        "id": message.id,
        "role": message.role.value,
        "text": message.text,
        "author": message.author,
        "created_at": message.created_at.isoformat(),
    }


def note_json(note: NoteView) -> dict[str, Any]:
    return {
        "id": note.id,
        "conversation_id": note.conversation_id,
        "author": note.author,
        "text": note.text,
        "created_at": note.created_at.isoformat(),
    }


def queue_item_json(item: QueueItem, now: datetime | None = None) -> dict[str, Any]:
    waited = ((now or utcnow()) - item.escalated_at).total_seconds()
    return {
        "conversation_id": item.conversation_id,
        "channel": item.channel,
        "state": item.state.value,
        "reason": item.reason,
        "detail": item.detail,
        "escalated_at": item.escalated_at.isoformat(),
        "wait_seconds": max(0, round(waited)),
        "claimed_by": staff_json(item.claimed_by) if item.claimed_by else None,
        "last_customer_text": item.last_customer_text,
    }


def escalation_json(escalation: EscalationView) -> dict[str, Any]:
    return {
        "id": escalation.id,
        "reason": escalation.reason,
        "detail": escalation.detail,
        "status": escalation.status,
        "created_at": escalation.created_at.isoformat(),
        "claimed_by": staff_json(escalation.claimed_by) if escalation.claimed_by else None,
        "claimed_at": escalation.claimed_at.isoformat() if escalation.claimed_at else None,
        "resolved_at": escalation.resolved_at.isoformat() if escalation.resolved_at else None,
    }


def route_step_json(step: RouteStep) -> dict[str, Any]:
    return {
        "message_id": step.message_id,
        "intent": step.intent,
        "route": step.route,
        "tier": step.tier,
        "confidence": step.confidence,
        "model": step.model,
        "outcome": step.outcome,
        "created_at": step.created_at.isoformat(),
        "sources": [{"title": s.title, "section": s.section, "source": s.source, "url": s.url, "score": s.score} for s in step.sources],
        "tool_calls": [
            {
                "tool": c.tool,
                "arguments": dict(c.arguments),
                "outcome": c.outcome.value,
                "latency_ms": round(c.latency_ms, 1),
                "step": c.step,
                "response_bytes": c.response_bytes,
                "error": c.error,
                "confirmation": c.confirmation,
            }
            for c in step.tool_calls
        ],
    }


def detail_json(detail: ConversationDetail) -> dict[str, Any]:
    current = detail.escalations[-1] if detail.escalations else None
    return {
        "conversation_id": detail.conversation_id,
        "summary": detail.summary,
        "summary_source": detail.summary_source,
        "channel": detail.channel,
        "state": detail.state.value,
        "route": detail.route,
        "created_at": detail.created_at.isoformat(),
        "escalation": escalation_json(current) if current else None,
        "escalations": [escalation_json(e) for e in detail.escalations],
        "messages": [message_json(m) for m in detail.messages],
        "notes": [note_json(n) for n in detail.notes],
        "routes": [route_step_json(r) for r in detail.routes],
    }


def event_json(event: ConversationEvent) -> dict[str, Any]:
    """A staff-topic event (message, note, queue, escalation) as the console's socket sends it."""
    return {"type": event.type, **{key: _value_json(value) for key, value in event.data.items()}}


def _value_json(value: Any) -> Any:
    if isinstance(value, MessageView):
        return message_json(value)
    if isinstance(value, NoteView):
        return note_json(value)
    if isinstance(value, StaffMember):
        return staff_json(value)
    if isinstance(value, ConversationState):
        return value.value
    return value

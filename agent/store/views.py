"""What leaves the store for the manager and the staff side: frozen views, never table rows.

The views channels see (messages, notes, staff members) are in `agent.contracts`; these are
the ones only the store and the layers right above it share. Table rows become views in
`agent.store.rows`, the one module that maps one to the other.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from agent.contracts import ConversationState, MessageView


def as_utc(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes; everything we store is UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


@dataclass(frozen=True, slots=True)
class ConversationView:
    """A stored conversation: where it lives, who has it, and how the router last placed it."""

    id: str
    channel: str
    conversation_key: str
    channel_user_id: str
    state: ConversationState
    route: str | None
    unknown_streak: int
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class TurnView:
    """How one customer message was answered (or relayed, or missed)."""

    id: int
    conversation_id: str
    inbound_message_id: int
    reply_message_id: int | None
    intent: str | None
    route: str | None
    confidence: float | None
    tier: str | None
    outcome: str  # answered | escalated | relayed | failed | missed
    model: str | None
    latency_ms: float
    created_at: datetime


@dataclass(frozen=True, slots=True)
class TurnContext:
    conversation: ConversationView
    recent: list[MessageView]  # oldest first, ending with the turn's own message
    done: tuple[TurnView, MessageView | None] | None  # the turn, when this message's turn already ran


@dataclass(frozen=True, slots=True)
class SavedInbound:
    conversation: ConversationView
    message: MessageView
    duplicate: bool

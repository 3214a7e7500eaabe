"""What leaves the store for the manager and the staff side: frozen views, never table rows.

The views channels see (messages, notes, staff members) are in `agent.contracts`; these are
the ones only the store and the layers right above it share. Table rows become views in
`agent.store.rows`, the one module that maps one to the other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from agent.contracts import (
    ConversationState,
    EscalationView,
    MessageView,
    NoteView,
    PendingAction,
    Source,
    StaffMember,
    ToolCallRecord,
)


def as_utc(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes; everything we store is UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


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
    verified_customer: str | None = None
    verify_failures: int = 0
    pending_action: PendingAction | None = None


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
    sources: tuple[Source, ...] = field(default=())
    tool_calls: tuple[ToolCallRecord, ...] = field(default=())


@dataclass(frozen=True, slots=True)
class StoredContext:
    """What the store loads for a turn: its conversation, the messages up to it, and whether it ran."""

    conversation: ConversationView
    recent: list[MessageView]  # oldest first, ending with the turn's own message
    done: tuple[TurnView, MessageView | None] | None  # the turn, when this message's turn already ran


@dataclass(frozen=True, slots=True)
class SavedInbound:
    conversation: ConversationView
    message: MessageView
    duplicate: bool


# -- the handoff: escalations and what the staff side asks of them ------------------------

# An escalation's status.
OPEN, CLAIMED, RESOLVED, HANDED_BACK, CLOSED = "open", "claimed", "resolved", "handed_back", "closed"


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A conversation's handoff as one state change left it (or found it, when it declined)."""

    state: ConversationState
    escalation: EscalationView | None  # the current one
    holder: StaffMember | None
    changed: bool
    notice: MessageView | None = None  # what the customer was told of the change, in the same transaction


@dataclass(frozen=True, slots=True)
class HandoffRecord:
    """Everything stored about one conversation that the staff console shows."""

    conversation: ConversationView
    messages: list[MessageView]
    notes: list[NoteView]
    escalations: list[EscalationView]
    turns: list[TurnView]


@dataclass(frozen=True, slots=True)
class StaffMessageResult:
    snapshot: Snapshot
    message: MessageView | None  # None: refused, see the snapshot
    duplicate: bool = False


@dataclass(frozen=True, slots=True)
class StaffLogin:
    """A staff account with what a sign-in is checked against."""

    member: StaffMember
    password_hash: str


@dataclass(frozen=True, slots=True)
class OutboxBacklog:
    """The replies owed and not yet sent, for the metrics."""

    pending: int
    oldest_at: datetime | None  # when the oldest of them was written; None when there are none

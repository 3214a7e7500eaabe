"""What the manager hands the store to write, and what the store refuses with."""

from __future__ import annotations

from dataclasses import dataclass, field

from agent.contracts import CallRecord, ConversationState, MessageView, PendingAction, Role, Source, ToolCallRecord
from agent.store.views import TurnView


class UnknownConversation(LookupError):
    """No conversation with that id (or it belongs to another channel)."""


class TurnAlreadyDone(Exception):
    """Another run of the same message's turn finished first; nothing of this one was written."""

    def __init__(self, turn: TurnView, reply: MessageView | None) -> None:
        super().__init__(f"turn for message {turn.inbound_message_id} already stored")
        self.turn = turn
        self.reply = reply


__all__ = ["KEEP", "CallRecord", "TurnAlreadyDone", "TurnRecord", "UnknownConversation"]

KEEP = object()  # a TurnRecord field left as the conversation has it


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
    unknown_streak: int | None = None
    sources: tuple[Source, ...] = ()
    tool_calls: tuple[ToolCallRecord, ...] = ()
    # The change now waiting for the customer's yes; KEEP leaves the conversation's as it is, None clears it.
    pending_action: PendingAction | None | object = KEEP
    verified_customer: str | None = None  # newly verified in this turn
    verify_failures: int | None = None

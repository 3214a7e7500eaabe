"""What the manager hands the store to write, and what the store refuses with."""

from __future__ import annotations

from dataclasses import dataclass, field

from agent.contracts import ConversationState, MessageView, Role
from agent.store.views import TurnView


class UnknownConversation(LookupError):
    """No conversation with that id (or it belongs to another channel)."""


class TurnAlreadyDone(Exception):
    """Another run of the same message's turn finished first; nothing of this one was written."""

    def __init__(self, turn: TurnView, reply: MessageView | None) -> None:
        super().__init__(f"turn for message {turn.inbound_message_id} already stored")
        self.turn = turn
        self.reply = reply


@dataclass(frozen=True, slots=True)
class CallRecord:
    """One model attempt, as the manager hands it to the store."""

    model: str
    provider: str
    outcome: str
    latency_ms: float
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float | None = 0.0  # None: the model has no known price
    error: str | None = None
    ttft_ms: float | None = None
    error_class: str | None = None
    cached_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0
    deployment: str | None = None
    retry: int = 0


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

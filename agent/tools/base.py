"""What a tool runs with, and what it gives back."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from agent.contracts import PendingAction, ToolOutcome


@dataclass(slots=True)
class ToolContext:
    """One turn's view for its tools; tools and guard rails write back what follows from them."""

    conversation_id: str
    channel: str
    channel_user_id: str
    route: str
    allowed: frozenset[str]  # the route's allow-list
    customer: str | None = None  # the verified customer, once verified
    customer_words: str = ""  # what the customer wrote lately: an action's arguments must come from it
    verify_failures: int = 0
    # set by tools and guard rails during the turn
    verified: str | None = None  # verified during this turn
    escalation: str | None = None  # escalate_to_human's reason
    pending: PendingAction | None = None  # an action waiting for the customer's yes
    passages: list[Any] = field(default_factory=list)  # search_knowledge's finds, for the reply's sources


@dataclass(frozen=True, slots=True)
class ToolReply:
    """A tool's answer: data for the model, or an error it can act on."""

    data: Any = None
    outcome: ToolOutcome = ToolOutcome.OK
    error: str | None = None
    retryable: bool = False
    response_bytes: int = 0

    @classmethod
    def failed(cls, outcome: ToolOutcome, error: str, retryable: bool = False, response_bytes: int = 0) -> ToolReply:
        return cls(None, outcome, error, retryable, response_bytes)

    def for_model(self) -> Any:
        if self.error is None:  # an answer, or a change waiting for the customer's yes (its question)
            return self.data
        return {"error": self.error, "retryable": self.retryable}


class ToolRunner(Protocol):
    async def run(self, arguments: dict[str, Any], context: ToolContext) -> ToolReply: ...

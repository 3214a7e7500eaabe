"""What a tool call leaves behind: its stored record, and an action waiting for the customer's yes."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


class ToolOutcome(str, enum.Enum):
    OK = "ok"
    ERROR = "error"  # the system answered with an error (4xx, 5xx) or the tool raised
    TIMEOUT = "timeout"
    BAD_RESPONSE = "bad_response"  # not JSON, or not what the tool returns
    INVALID_ARGUMENTS = "invalid_arguments"  # the model's arguments break the tool's schema
    NOT_ALLOWED = "not_allowed"  # not on the route's allow-list, or not a tool at all
    NEEDS_VERIFICATION = "needs_verification"  # private data, and the customer is not verified yet
    NEEDS_CONFIRMATION = "needs_confirmation"  # changes something: asked the customer first
    DECLINED = "declined"  # the customer did not say yes
    STEP_LIMIT = "step_limit"  # asked for after the turn's last tool step


@dataclass(frozen=True, slots=True)
class ToolCallRecord:
    """One tool call of a turn, as stored: arguments with secrets and configured fields redacted."""

    tool: str
    arguments: Mapping[str, Any]
    outcome: ToolOutcome
    latency_ms: float
    step: int = 0  # the tool round of the turn, from 1; 0 for an action the customer confirmed
    response_bytes: int = 0
    error: str | None = None
    # asked | confirmed | declined: for a tool that changes something
    confirmation: str | None = None


@dataclass(frozen=True, slots=True)
class PendingAction:
    """A change the bot asked the customer to confirm; it runs on their explicit yes, and only then."""

    tool: str
    arguments: Mapping[str, Any] = field(default_factory=dict)
    question: str = ""  # exactly what the customer was asked
    route: str | None = None

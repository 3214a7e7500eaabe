"""The provider-neutral model interface: one request shape in, one result shape out."""

from __future__ import annotations

import enum
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class ChatMessage:
    role: str  # system | user | assistant
    content: str


@dataclass(frozen=True, slots=True)
class ChatRequest:
    messages: list[ChatMessage]
    route: str | None = None
    max_tokens: int | None = None
    temperature: float | None = None
    # Facts the manager already knows (intent name, channel); providers may ignore them.
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def last_user_text(self) -> str:
        for message in reversed(self.messages):
            if message.role == "user":
                return message.content
        return ""


@dataclass(frozen=True, slots=True)
class ChatResult:
    text: str
    model: str
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    latency_ms: float = 0.0
    finish_reason: str = "stop"


class Outcome(str, enum.Enum):
    """How one model attempt ended; everything but OK makes the chain move on."""

    OK = "ok"
    TIMEOUT = "timeout"
    RATE_LIMITED = "rate_limited"
    SERVER_ERROR = "server_error"
    CONNECTION_ERROR = "connection_error"
    BAD_RESPONSE = "bad_response"
    CLIENT_ERROR = "client_error"
    ERROR = "error"


class ModelError(Exception):
    """A provider failure, already classified."""

    def __init__(self, outcome: Outcome, message: str) -> None:
        super().__init__(message)
        self.outcome = outcome


class ChatModel(Protocol):
    name: str
    provider: str
    timeout_s: float

    async def complete(self, request: ChatRequest) -> ChatResult: ...

    def stream(self, request: ChatRequest) -> AsyncIterator[str]: ...

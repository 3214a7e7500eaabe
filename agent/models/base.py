"""The provider-neutral model interface: one request shape in, one result shape out."""

from __future__ import annotations

import enum
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from agent.contracts import Passage


@dataclass(frozen=True, slots=True)
class ToolCall:
    id: str
    name: str
    arguments: str  # JSON text, as the model wrote it
    # Opaque data the provider wants back with the call in the next request (Gemini's
    # thoughtSignature: without it, a thinking model refuses the conversation).
    signature: str | None = None


@dataclass(frozen=True, slots=True)
class Tool:
    name: str
    description: str
    parameters: dict[str, Any] = field(default_factory=lambda: {"type": "object", "properties": {}})


@dataclass(frozen=True, slots=True)
class ChatMessage:
    role: str  # system | user | assistant | tool
    content: str
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str | None = None  # on a `tool` message: the call it answers
    name: str | None = None  # on a `tool` message: the tool's name (Gemini answers by name, not id)


@dataclass(frozen=True, slots=True)
class ChatRequest:
    messages: list[ChatMessage]
    route: str | None = None
    max_tokens: int | None = None
    temperature: float | None = None
    tools: tuple[Tool, ...] = ()
    # "none": the tools are described (a conversation holding tool calls needs them) but may not
    # be called this time; the tool loop's last round.
    tool_choice: str = "auto"
    # Facts the manager already knows (intent name, channel); providers may ignore them.
    metadata: dict[str, Any] = field(default_factory=dict)
    # The knowledge passages the system prompt quotes as R1, R2, ...: a hosted model reads them
    # there; the local model, which has no language model, answers from them directly.
    passages: tuple[Passage, ...] = ()

    @property
    def last_user_text(self) -> str:
        for message in reversed(self.messages):
            if message.role == "user":
                return message.content
        return ""


@dataclass(frozen=True, slots=True)
class ChatResult:
    """One answer. `input_tokens` counts the whole prompt, cached part included; `output_tokens`
    counts everything generated, reasoning included (how the price tables count them)."""

    text: str
    model: str
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    latency_ms: float = 0.0
    finish_reason: str = "stop"  # stop | length | tool_calls | content_filter | ...
    cached_tokens: int = 0  # prompt tokens read from the provider's cache
    cache_write_tokens: int = 0  # prompt tokens written to it (Anthropic bills these apart)
    reasoning_tokens: int = 0
    ttft_ms: float | None = None  # time to the first token (to the response, when not streamed)
    tool_calls: tuple[ToolCall, ...] = ()
    provider_model: str | None = None  # the model id the provider says answered


@dataclass(frozen=True, slots=True)
class TextDelta:
    """A piece of a streamed answer; a stream ends with the complete ChatResult."""

    text: str


StreamEvent = TextDelta | ChatResult


class Outcome(str, enum.Enum):
    """How one model attempt ended; everything but OK makes the chain move on."""

    OK = "ok"
    TIMEOUT = "timeout"
    RATE_LIMITED = "rate_limited"
    SERVER_ERROR = "server_error"
    CONNECTION_ERROR = "connection_error"
    CONTEXT_OVERFLOW = "context_overflow"
    CONTENT_POLICY = "content_policy"
    BAD_RESPONSE = "bad_response"
    CLIENT_ERROR = "client_error"
    ERROR = "error"
    # Decided on our side, without a provider failure:
    CIRCUIT_OPEN = "circuit_open"  # the breaker kept the call from being made
    THROTTLED = "throttled"  # our own rpm/tpm queue was full or too slow
    REJECTED = "rejected"  # an answer came, but a cascade check turned it down
    CANCELLED = "cancelled"  # a parallel call another model won

    @property
    def is_failure(self) -> bool:
        """A failure of the model or its provider (what the breaker counts)."""
        return self in _PROVIDER_FAILURES


_PROVIDER_FAILURES = frozenset(
    {Outcome.TIMEOUT, Outcome.SERVER_ERROR, Outcome.CONNECTION_ERROR, Outcome.BAD_RESPONSE, Outcome.RATE_LIMITED, Outcome.ERROR}
)


class ModelError(Exception):
    """A provider failure, already classified."""

    def __init__(self, outcome: Outcome, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.outcome = outcome
        self.retry_after = retry_after  # seconds the provider asked us to wait, if it said


class ChatModel(Protocol):
    name: str
    provider: str
    timeout_s: float

    async def complete(self, request: ChatRequest) -> ChatResult: ...

    def stream(self, request: ChatRequest) -> AsyncIterator[StreamEvent]: ...

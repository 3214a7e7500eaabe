"""The data that crosses layers: what a channel hands the manager and what it gets back.

Channel adapters import this module and nothing else from `agent`, so it stays free of
SQL, HTTP and model code.
"""

from __future__ import annotations

import enum
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Protocol


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class InvalidMessage(ValueError):
    """The message cannot be accepted (empty, too long); nothing was stored."""


class ConversationNotFound(LookupError):
    """No such conversation for this channel."""


class Role(str, enum.Enum):
    """Who wrote a message."""

    CUSTOMER = "customer"
    BOT = "bot"
    STAFF = "staff"
    SYSTEM = "system"


class ConversationState(str, enum.Enum):
    """The handoff state: the bot answers only in `bot`."""

    BOT = "bot"
    WAITING = "waiting"
    WITH_HUMAN = "with_human"
    RESOLVED = "resolved"


@dataclass(frozen=True, slots=True)
class InboundMessage:
    """One customer message as any channel received it, normalized."""

    channel: str
    channel_user_id: str
    conversation_key: str
    text: str
    provider_message_id: str | None = None
    # Set by channels that address conversations by our id (web chat); others are
    # resolved from (channel, conversation_key).
    conversation_id: str | None = None
    received_at: datetime = field(default_factory=utcnow)
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class MessageView:
    """A stored message as channels show it."""

    id: int
    role: Role
    text: str
    created_at: datetime
    author: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "role": self.role.value,
            "text": self.text,
            "author": self.author,
            "created_at": self.created_at.isoformat(),
        }


@dataclass(frozen=True, slots=True)
class Reply:
    """What the manager answers to one inbound message."""

    conversation_id: str
    inbound: MessageView
    text: str | None
    message: MessageView | None
    route: str | None
    model: str | None
    escalated: bool
    state: ConversationState
    end_conversation: bool = False
    duplicate: bool = False
    hints: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ConversationEvent:
    """Something a live channel (a WebSocket) should show as it happens."""

    type: str  # "message" | "typing" | "state"
    conversation_id: str
    data: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {"type": self.type, **self.data}


class ConversationService(Protocol):
    """The manager as channels see it."""

    async def open_conversation(self, channel: str, conversation_key: str, channel_user_id: str) -> str: ...

    async def handle(self, message: InboundMessage) -> Reply: ...

    async def history(
        self, conversation_id: str, after: int | None = None, limit: int = 200
    ) -> tuple[list[MessageView], ConversationState] | None: ...

    def events(self, conversation_id: str) -> "EventStream": ...


class EventStream(Protocol):
    """Live events of one conversation; subscribed from creation until `aclose()`."""

    def __aiter__(self) -> AsyncIterator[ConversationEvent]: ...

    async def aclose(self) -> None: ...

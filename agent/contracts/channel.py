"""The channel contract: what a channel adapter hands the manager, what it gets back, and
what a channel is."""

from __future__ import annotations

import enum
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Protocol

from agent.contracts.knowledge import Source
from agent.text import (
    InvalidMessage as InvalidMessage,  # the contract's own, defined beside the check
)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


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
class ChannelTraits:
    """What a channel is, declared once by the channel and read by every part that treats
    channels differently: the manager, the persona's rendering, the outbox, handoff and recovery."""

    name: str
    style: str  # the persona's channel style, which also picks how an answer is rendered
    streams: bool = False  # the answer is shown, or spoken, while it is written
    splits_long_answers: bool = False  # a long answer goes as several messages, so it is never cut
    threads: bool = False  # replies go in the thread of the customer's first message
    # The customer can be reached after the request that brought their message: staff notices
    # and an answer recovered after a crash still arrive. Not so for a call or a terminal chat.
    pushable: bool = True
    # For a channel that acknowledges before the answer (`take`): how long its request may wait
    # for the answer, to send it in its own response; 0: every answer leaves through the outbox.
    inline_answer_s: float = 0.0


def traits_of(channels: Mapping[str, ChannelTraits], channel: str) -> ChannelTraits:
    """A channel nobody declared is styled by its own name and treated plainly."""
    return channels.get(channel) or ChannelTraits(channel, style=channel)


@dataclass(frozen=True, slots=True)
class MessageView:
    """A stored message as channels show it."""

    id: int
    role: Role
    text: str
    created_at: datetime
    author: str | None = None
    # Where it is stored and the channel's own id for it; neither is shown.
    conversation_id: str | None = None
    channel_message_id: str | None = None
    # A bot answer's cited knowledge passages, as its turn stored them: read with the history, a
    # finished turn and a repeated one's answer, so a reloaded page shows them again; () where a
    # message is read without its turn (a turn's context, the staff console's record).
    sources: tuple[Source, ...] = ()


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
    duplicate: bool = False
    sources: tuple[Source, ...] = ()  # the knowledge passages the answer cites


@dataclass(frozen=True, slots=True)
class Taken:
    """A message `take` stored; `reply` is its answer when the caller is to send it inline."""

    message: MessageView
    reply: Reply | None


@dataclass(frozen=True, slots=True)
class ConversationEvent:
    """Something a live channel (a WebSocket) should show as it happens.

    `data` holds views (MessageView, NoteView, StaffMember), ConversationState and plain values,
    never a wire format: each channel renders an event in its own, and the Redis bus carries
    the views to other processes as they are (agent/live/codec.py)."""

    # A conversation's: "message" | "typing" | "state" | "delta" | "delta_reset";
    # the staff topic's: "message" | "note" | "queue" | "escalation".
    type: str
    conversation_id: str  # the topic: a conversation's id, or STAFF_TOPIC
    data: dict[str, Any]


class ConversationService(Protocol):
    """The manager as channels see it."""

    async def open_conversation(self, channel: str, conversation_key: str, channel_user_id: str) -> str: ...

    async def handle(self, message: InboundMessage) -> Reply: ...

    async def take(self, message: InboundMessage, inline_deadline_s: float = 0.0) -> Taken:
        """For a channel that acknowledges before the answer: the message is stored and in line
        when this returns, and its turn runs on. An answer ready within `inline_deadline_s` comes
        back for the caller to send itself; otherwise the outbox sends it. A repeat of a stored
        message gets no second answer."""
        ...

    async def history(
        self, conversation_id: str, after: int | None = None, limit: int = 200
    ) -> tuple[list[MessageView], ConversationState] | None: ...

    def events(self, conversation_id: str) -> "EventStream": ...


# A channel gesture that always means "a person, please" (a caller pressing 0) sets this
# metadata key on its InboundMessage; the value says what the customer did.
ESCALATE_METADATA = "escalate"


class ChannelSessions(Protocol):
    """Conversations a channel starts and ends itself (a phone call is one conversation)."""

    async def find_conversation(self, channel: str, conversation_key: str) -> str | None: ...

    async def end_conversation(self, channel: str, conversation_key: str, note: str) -> ConversationState | None:
        """Record that the channel's session ended (`note` goes into the transcript) and close it.

        A conversation the bot had is resolved; one waiting for or held by a person stays so
        that staff can follow up. None when there is no such conversation, or when the same note
        was recorded already (a repeated callback).
        """
        ...


class OptOutRegistry(Protocol):
    """Who asked not to be messaged (SMS STOP), kept as a log of keyword messages."""

    async def record(self, address: str, action: str, keyword: str, provider_message_id: str | None) -> bool:
        """Store a keyword message (action: opt_out | opt_in | help); False if that message id was seen before."""
        ...

    async def is_opted_out(self, address: str) -> bool: ...


class EventStream(Protocol):
    """Live events of one conversation; subscribed from creation until `aclose()`."""

    def __aiter__(self) -> AsyncIterator[ConversationEvent]: ...

    async def aclose(self) -> None: ...


class RateLimiter(Protocol):
    """Counts events per key in a sliding window: in memory for one process, shared through
    Redis for several. A refused event is not counted, so a flood does not lengthen its pause."""

    async def hit(self, key: str, limit: int, window_s: float) -> float | None:
        """Count one event: None when it is within `limit` per `window_s`, else the seconds
        until one more would be."""
        ...

    async def wait(self, key: str, limit: int, window_s: float) -> float | None:
        """What `hit` would answer, without counting anything."""
        ...

    async def clear(self, key: str) -> None: ...


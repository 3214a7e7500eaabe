"""The data that crosses layers: what a channel hands the manager and what it gets back.

Channel adapters import this module (and `agent.text`) and nothing else from `agent`, so it
stays free of SQL, HTTP and model code.
"""

from __future__ import annotations

import enum
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Protocol

from agent.text import InvalidMessage as InvalidMessage  # the contract's own, defined beside the check


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

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "role": self.role.value,
            "text": self.text,
            "author": self.author,
            "created_at": self.created_at.isoformat(),
        }


@dataclass(frozen=True, slots=True)
class CallRecord:
    """One model attempt as it is stored: the models make it, the store writes it field by field
    into its model_calls row (the same names), and no layer in between copies it."""

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


@dataclass(frozen=True, slots=True)
class ConversationEvent:
    """Something a live channel (a WebSocket) should show as it happens."""

    type: str  # "message" | "typing" | "state"
    conversation_id: str
    data: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {"type": self.type, **self.data}


@dataclass(frozen=True, slots=True)
class OutboundMessage:
    """A stored message owed to a customer, as the outbox hands it to a channel's sender."""

    outbox_id: int
    conversation_id: str
    channel: str
    conversation_key: str
    channel_user_id: str
    message: MessageView
    attempt: int  # 1 on the first try
    # The channel's id of the customer message this one answers, for channels that thread replies.
    in_reply_to: str | None = None


class DeliveryError(Exception):
    """A channel could not deliver; the outbox retries unless `permanent`.

    `retry_after` (seconds) is the provider's own hint (Retry-After) and wins over backoff.
    """

    def __init__(self, reason: str, *, retry_after: float | None = None, permanent: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after
        self.permanent = permanent


class OutboundChannel(Protocol):
    """Sends stored messages to customers on one channel (answers, staff replies, notices)."""

    name: str

    async def send(self, message: OutboundMessage) -> str | None:
        """Deliver it; return the provider's id for it, or raise DeliveryError."""
        ...


class ConversationService(Protocol):
    """The manager as channels see it."""

    async def open_conversation(self, channel: str, conversation_key: str, channel_user_id: str) -> str: ...

    async def handle(self, message: InboundMessage) -> Reply: ...

    async def accept(self, message: InboundMessage) -> MessageView:
        """Store a message without answering it yet (a channel that must acknowledge at once
        calls `handle` with the same message afterwards); a repeat returns the stored one."""
        ...

    async def history(
        self, conversation_id: str, after: int | None = None, limit: int = 200
    ) -> tuple[list[MessageView], ConversationState] | None: ...

    def events(self, conversation_id: str) -> "EventStream": ...

    async def deliver_inline(self, message_id: int) -> bool:
        """Take a reply out of the outbox to send it in the webhook's own response.

        True means the caller now owns delivery; False means the outbox already has it.
        """
        ...

    async def release_to_outbox(self, message_id: int) -> None:
        """The caller will not deliver this reply inline: let the outbox send it now."""
        ...


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


# -- staff side: what the staff console sees --------------------------------------------

# The event-bus topic every staff console listens on (conversation ids are 32 hex
# characters, so it cannot collide with one).
STAFF_TOPIC = "staff"


class StaffRole(str, enum.Enum):
    STAFF = "staff"
    ADMIN = "admin"


class HandoffError(Exception):
    """A staff operation refused; `code` is machine-readable, the message is for people."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class HandoffNotFound(HandoffError):
    """No such conversation."""


class HandoffConflict(HandoffError):
    """The conversation is not in a state that allows this (already claimed, resolved...)."""


class HandoffForbidden(HandoffError):
    """Another staff member holds the conversation."""


@dataclass(frozen=True, slots=True)
class StaffMember:
    id: int
    username: str
    display_name: str
    role: StaffRole

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "username": self.username, "display_name": self.display_name, "role": self.role.value}


@dataclass(frozen=True, slots=True)
class StaffSession:
    """A signed-in staff member; the CSRF token must accompany every state-changing request."""

    staff: StaffMember
    csrf_token: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class NewSession:
    """A session just opened: the secret token goes into the cookie, and only there."""

    token: str
    session: StaffSession


@dataclass(frozen=True, slots=True)
class QueueItem:
    """One escalated conversation as the queue lists it."""

    conversation_id: str
    channel: str
    state: ConversationState
    reason: str
    detail: str | None
    escalated_at: datetime
    claimed_by: StaffMember | None
    last_customer_text: str | None

    def to_json(self, now: datetime | None = None) -> dict[str, Any]:
        waited = ((now or utcnow()) - self.escalated_at).total_seconds()
        return {
            "conversation_id": self.conversation_id,
            "channel": self.channel,
            "state": self.state.value,
            "reason": self.reason,
            "detail": self.detail,
            "escalated_at": self.escalated_at.isoformat(),
            "wait_seconds": max(0, round(waited)),
            "claimed_by": self.claimed_by.to_json() if self.claimed_by else None,
            "last_customer_text": self.last_customer_text,
        }


@dataclass(frozen=True, slots=True)
class NoteView:
    """A private note: staff only, never sent to a customer."""

    id: int
    conversation_id: str
    author: str
    text: str
    created_at: datetime

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "conversation_id": self.conversation_id,
            "author": self.author,
            "text": self.text,
            "created_at": self.created_at.isoformat(),
        }


@dataclass(frozen=True, slots=True)
class EscalationView:
    id: int
    reason: str
    detail: str | None
    status: str  # open | claimed | resolved | handed_back
    created_at: datetime
    claimed_by: StaffMember | None = None
    claimed_at: datetime | None = None
    resolved_at: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "reason": self.reason,
            "detail": self.detail,
            "status": self.status,
            "created_at": self.created_at.isoformat(),
            "claimed_by": self.claimed_by.to_json() if self.claimed_by else None,
            "claimed_at": self.claimed_at.isoformat() if self.claimed_at else None,
            "resolved_at": self.resolved_at.isoformat() if self.resolved_at else None,
        }


@dataclass(frozen=True, slots=True)
class RouteStep:
    """How one customer turn was routed and answered."""

    message_id: int
    intent: str | None
    route: str | None
    tier: str | None
    confidence: float | None
    model: str | None
    outcome: str
    created_at: datetime

    def to_json(self) -> dict[str, Any]:
        return {
            "message_id": self.message_id,
            "intent": self.intent,
            "route": self.route,
            "tier": self.tier,
            "confidence": self.confidence,
            "model": self.model,
            "outcome": self.outcome,
            "created_at": self.created_at.isoformat(),
        }


@dataclass(frozen=True, slots=True)
class ConversationDetail:
    conversation_id: str
    channel: str
    state: ConversationState
    route: str | None
    created_at: datetime
    messages: list[MessageView]
    notes: list[NoteView]
    escalations: list[EscalationView]
    routes: list[RouteStep]
    summary: str = ""
    summary_source: str = "extractive"  # or "model"

    def to_json(self) -> dict[str, Any]:
        current = self.escalations[-1] if self.escalations else None
        return {
            "conversation_id": self.conversation_id,
            "summary": self.summary,
            "summary_source": self.summary_source,
            "channel": self.channel,
            "state": self.state.value,
            "route": self.route,
            "created_at": self.created_at.isoformat(),
            "escalation": current.to_json() if current else None,
            "escalations": [e.to_json() for e in self.escalations],
            "messages": [m.to_json() for m in self.messages],
            "notes": [n.to_json() for n in self.notes],
            "routes": [r.to_json() for r in self.routes],
        }


@dataclass(frozen=True, slots=True)
class StaffReply:
    message: MessageView
    state: ConversationState
    duplicate: bool = False


class HandoffService(Protocol):
    """Staff operations on escalated conversations, as the staff console sees them.

    Each raises HandoffNotFound, HandoffConflict or HandoffForbidden when it cannot be done;
    nothing is changed then.
    """

    async def queue(self) -> list[QueueItem]: ...

    async def detail(self, conversation_id: str) -> ConversationDetail: ...

    async def claim(self, conversation_id: str, staff: StaffMember) -> ConversationState: ...

    async def take_over(self, conversation_id: str, staff: StaffMember) -> ConversationState: ...

    async def reply(
        self, conversation_id: str, staff: StaffMember, text: str, client_message_id: str | None = None
    ) -> StaffReply: ...

    async def add_note(self, conversation_id: str, staff: StaffMember, text: str) -> NoteView: ...

    async def resolve(self, conversation_id: str, staff: StaffMember) -> ConversationState: ...

    async def hand_back(self, conversation_id: str, staff: StaffMember) -> ConversationState: ...

    async def reopen(self, conversation_id: str, staff: StaffMember) -> ConversationState: ...

    async def close(self, conversation_id: str, staff: StaffMember) -> ConversationState: ...

    def staff_events(self) -> EventStream: ...


class StaffAuth(Protocol):
    """Staff sign-in and server-side sessions."""

    async def login(self, username: str, password: str) -> NewSession | None: ...

    async def session(self, token: str) -> StaffSession | None: ...

    async def logout(self, token: str) -> None: ...


# -- staff threads in a team chat (the Slack staff channel) ------------------------------


@dataclass(frozen=True, slots=True)
class StaffThread:
    """An escalation's post in a staff chat channel, with what it still has to show there."""

    id: int
    conversation_id: str
    escalation_id: int
    channel_id: str
    ts: str | None  # None until it is posted
    shown: str | None  # what the post last showed (`wanted` when it is up to date)
    wanted: str  # the escalation's status and holder, as the post should show them
    status: str  # open | claimed | resolved | handed_back
    holder: StaffMember | None
    pending: list[MessageView]  # messages to mirror into the thread, oldest first
    latest_message_id: int  # the conversation's newest message when this was read
    attempts: int


# -- limits on how fast one client may go ---------------------------------------------------


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

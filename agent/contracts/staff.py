"""The staff contract: staff members and sessions, the handoff service and the views of a
conversation a person works on."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from agent.contracts.channel import ConversationState, EventStream, MessageView
from agent.contracts.knowledge import Source
from agent.contracts.tools import ToolCallRecord

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


@dataclass(frozen=True, slots=True)
class NoteView:
    """A private note: staff only, never sent to a customer."""

    id: int
    conversation_id: str
    author: str
    text: str
    created_at: datetime


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
    sources: tuple[Source, ...] = ()  # the knowledge passages the answer cited
    tool_calls: tuple[ToolCallRecord, ...] = ()  # what the models looked up or changed, redacted


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


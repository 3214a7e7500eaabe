"""The data that crosses layers, in one module per contract: the channel contract (what a
channel hands the manager and gets back), the outbox contract, the staff contract, and the
record of a model call.

Channel adapters import these modules (and `agent.text`) and nothing else from `agent`, so they
stay free of SQL, HTTP and model code.
"""

from agent.contracts.calls import (
    CallRecord,
)
from agent.contracts.channel import (
    ESCALATE_METADATA,
    ChannelSessions,
    ChannelTraits,
    ConversationEvent,
    ConversationNotFound,
    ConversationService,
    ConversationState,
    EventStream,
    InboundMessage,
    InvalidMessage,
    MessageView,
    OptOutRegistry,
    RateLimiter,
    Reply,
    Taken,
    Role,
    traits_of,
    utcnow,
)
from agent.contracts.outbox import (
    DeliveryError,
    OutboundChannel,
    OutboundMessage,
)
from agent.contracts.staff import (
    STAFF_TOPIC,
    ConversationDetail,
    EscalationView,
    HandoffConflict,
    HandoffError,
    HandoffForbidden,
    HandoffNotFound,
    HandoffService,
    NewSession,
    NoteView,
    QueueItem,
    RouteStep,
    StaffAuth,
    StaffMember,
    StaffReply,
    StaffRole,
    StaffSession,
    StaffThread,
)

__all__ = [
    "CallRecord",
    "ChannelSessions",
    "ChannelTraits",
    "ConversationDetail",
    "ConversationEvent",
    "ConversationNotFound",
    "ConversationService",
    "ConversationState",
    "DeliveryError",
    "ESCALATE_METADATA",
    "EscalationView",
    "EventStream",
    "HandoffConflict",
    "HandoffError",
    "HandoffForbidden",
    "HandoffNotFound",
    "HandoffService",
    "InboundMessage",
    "InvalidMessage",
    "MessageView",
    "NewSession",
    "NoteView",
    "OptOutRegistry",
    "OutboundChannel",
    "OutboundMessage",
    "QueueItem",
    "RateLimiter",
    "Reply",
    "Role",
    "RouteStep",
    "STAFF_TOPIC",
    "StaffAuth",
    "StaffMember",
    "StaffReply",
    "StaffRole",
    "StaffSession",
    "StaffThread",
    "Taken",
    "traits_of",
    "utcnow",
]

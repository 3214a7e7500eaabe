"""Switchboard's core: the conversation manager and the parts it routes through.

The names below are the contract every channel adapter builds on.
"""

from agent.contracts import (
    ConversationEvent,
    ConversationNotFound,
    ConversationService,
    ConversationState,
    EventStream,
    InboundMessage,
    InvalidMessage,
    MessageView,
    Reply,
    Role,
)

__all__ = [
    "ConversationEvent",
    "ConversationNotFound",
    "ConversationService",
    "ConversationState",
    "EventStream",
    "InboundMessage",
    "InvalidMessage",
    "MessageView",
    "Reply",
    "Role",
]

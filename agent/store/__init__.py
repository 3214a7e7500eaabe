"""Persistence: SQLModel tables, the queries the manager makes, and migrations."""

from agent.store.accounts import AccountStore, UsernameTaken
from agent.store.conversations import ConversationStore
from agent.store.database import Database
from agent.store.handoff import HandoffStore
from agent.store.optouts import OptOutStore
from agent.store.records import CallRecord, TurnAlreadyDone, TurnRecord, UnknownConversation
from agent.store.rows import to_view
from agent.store.views import ConversationView, SavedInbound, StoredContext, TurnView, as_utc

__all__ = [
    "AccountStore",
    "CallRecord",
    "ConversationStore",
    "ConversationView",
    "Database",
    "HandoffStore",
    "OptOutStore",
    "SavedInbound",
    "StoredContext",
    "TurnAlreadyDone",
    "TurnRecord",
    "TurnView",
    "UnknownConversation",
    "UsernameTaken",
    "as_utc",
    "to_view",
]

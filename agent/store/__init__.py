"""Persistence: SQLModel tables, the queries the manager makes, and migrations."""

from agent.store.accounts import AccountStore, UsernameTaken
from agent.store.database import Database
from agent.store.handoff import HandoffStore
from agent.store.optouts import OptOutStore
from agent.store.repository import (
    CallRecord,
    SavedInbound,
    Store,
    TurnAlreadyDone,
    TurnContext,
    TurnRecord,
    UnknownConversation,
)
from agent.store.views import as_utc, to_view

__all__ = [
    "AccountStore",
    "CallRecord",
    "Database",
    "HandoffStore",
    "OptOutStore",
    "SavedInbound",
    "Store",
    "TurnAlreadyDone",
    "TurnContext",
    "TurnRecord",
    "UnknownConversation",
    "UsernameTaken",
    "as_utc",
    "to_view",
]

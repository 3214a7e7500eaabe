"""Persistence: SQLModel tables, the queries the manager makes, and migrations."""

from agent.store.database import Database
from agent.store.repository import CallRecord, SavedInbound, Store, TurnRecord, UnknownConversation, as_utc

__all__ = ["CallRecord", "Database", "SavedInbound", "Store", "TurnRecord", "UnknownConversation", "as_utc"]

"""Persistence: SQLModel tables, the queries the manager makes, and migrations."""

from agent.store.engine import create_engine
from agent.store.repository import CallRecord, SavedInbound, Store, TurnRecord, UnknownConversation, as_utc

__all__ = ["CallRecord", "SavedInbound", "Store", "TurnRecord", "UnknownConversation", "as_utc", "create_engine"]

"""Deciding each turn's route from its text and the conversation's context."""

from agent.routing.intents import IntentCatalog, load_intents
from agent.routing.router import FOLLOW_UP, UNKNOWN, Intent, Router

__all__ = ["FOLLOW_UP", "Intent", "IntentCatalog", "Router", "UNKNOWN", "load_intents"]

"""Models behind one interface, and the chain that falls back across them."""

from agent.models.base import ChatMessage, ChatModel, ChatRequest, ChatResult, ModelError, Outcome
from agent.models.chain import Attempt, ChainResult, ModelChain

__all__ = [
    "Attempt",
    "ChainResult",
    "ChatMessage",
    "ChatModel",
    "ChatRequest",
    "ChatResult",
    "ModelChain",
    "ModelError",
    "Outcome",
]

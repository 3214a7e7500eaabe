"""Models behind one interface, managed by policy, combined per route by a strategy."""

from agent.models.base import (
    ChatMessage,
    ChatModel,
    ChatRequest,
    ChatResult,
    ModelError,
    Outcome,
    StreamEvent,
    TextDelta,
    Tool,
    ToolCall,
)
from agent.models.chain import ChainResult, ModelChain, RouteStrategy
from agent.models.checks import AnswerChecks
from agent.models.gateway import Gateway
from agent.models.managed import Attempt, ManagedModel
from agent.models.strategies import CachedRoute, Cascade, Parallel

__all__ = [
    "AnswerChecks",
    "Attempt",
    "CachedRoute",
    "Cascade",
    "ChainResult",
    "ChatMessage",
    "ChatModel",
    "ChatRequest",
    "ChatResult",
    "Gateway",
    "ManagedModel",
    "ModelChain",
    "ModelError",
    "Outcome",
    "Parallel",
    "RouteStrategy",
    "StreamEvent",
    "TextDelta",
    "Tool",
    "ToolCall",
]

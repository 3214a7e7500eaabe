"""The conversation manager: a facade for the channels, and a turn written as its stages."""

from agent.conversation.context import TurnContext
from agent.conversation.manager import ConversationManager, PendingMessage
from agent.conversation.parts import TurnParts, TurnSettings
from agent.conversation.stages import TURN

__all__ = ["TURN", "ConversationManager", "PendingMessage", "TurnContext", "TurnParts", "TurnSettings"]

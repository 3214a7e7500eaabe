"""What one turn knows as its stages run: one `TurnContext`, filled in stage by stage."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from agent.contracts import (
    ChannelTraits,
    ConversationState,
    InboundMessage,
    MessageView,
    Passage,
    PendingAction,
    Role,
    Source,
    ToolCallRecord,
)
from agent.escalation import EscalationDecision, History
from agent.models import ChainResult, ChatMessage
from agent.routing import Intent
from agent.store.records import KEEP
from agent.store.views import ConversationView, TurnView
from agent.tools import ToolContext


@dataclass(slots=True)
class TurnContext:
    """One customer message's turn. Each stage reads what the stages before it set."""

    inbound: InboundMessage
    conversation_id: str
    message: MessageView  # the stored customer message this turn answers
    traits: ChannelTraits
    started: float = field(default_factory=time.perf_counter)
    # load
    conversation: ConversationView | None = None
    recent: list[MessageView] = field(default_factory=list)  # oldest first, ending with `message`
    # route
    intent: Intent | None = None
    unknown_streak: int = 0
    # escalate (before and after the models) and answer
    decision: EscalationDecision = field(default_factory=lambda: EscalationDecision(False))
    # retrieve
    retrieved: bool = False  # whether the route looked in the knowledge base at all
    passages: list[Passage] = field(default_factory=list)
    chain: ChainResult = field(default_factory=lambda: ChainResult(None))
    sources: list[Source] = field(default_factory=list)  # the passages the answer cites
    reply_text: str | None = None  # set by the stage that decides what the customer hears
    # tools: what ran, a confirmed action's result for the models, what changes on the conversation
    tools: ToolContext | None = None
    tool_calls: list[ToolCallRecord] = field(default_factory=list)
    tool_messages: list[ChatMessage] = field(default_factory=list)
    pending: PendingAction | None | object = KEEP
    # record
    turn: TurnView | None = None
    reply: MessageView | None = None
    _history: History | None = field(default=None, repr=False)

    @property
    def previous_state(self) -> ConversationState:
        assert self.conversation is not None, "the load stage runs first"
        return self.conversation.state

    @property
    def earlier(self) -> list[MessageView]:
        """The messages before this turn's own."""
        return [m for m in self.recent if m.id != self.message.id]

    def history(self) -> History:
        """What the customer and the bot said before this turn, for the escalation rules (built once)."""
        if self._history is None:
            earlier = self.earlier
            self._history = History(
                customer=[m.text for m in earlier if m.role is Role.CUSTOMER],
                bot=[m.text for m in earlier if m.role is Role.BOT],
            )
        return self._history

    def elapsed_ms(self) -> float:
        return (time.perf_counter() - self.started) * 1000

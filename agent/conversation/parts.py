"""What the stages of a turn work with: the store, the router, the models, the persona, the
escalation rules, the channels' traits and the live events."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from agent.contracts import STAFF_TOPIC, CallRecord, ChannelTraits, ConversationEvent, KnowledgeQuery, Retriever, traits_of
from agent.escalation import EscalationPolicy
from agent.live.events import EventBus
from agent.models import RouteStrategy
from agent.routing import Router
from agent.routing.model_tier import ModelIntentTier
from agent.tools import ToolBox
from personas import Persona, system_prompt

if TYPE_CHECKING:
    # Only for the annotations: the manager works on views, the composition root hands it the store.
    from agent.store.conversations import ConversationStore


@dataclass(frozen=True, slots=True)
class TurnSettings:
    max_text_chars: int = 4000
    history_messages: int = 10
    turn_timeout_s: float = 30.0
    unknown_action: str = "route"  # route | clarify
    # What each route's turns ask the knowledge base (collections, k, floors; the text is each
    # turn's), by route, "*" for routes without their own. k=0: no retrieval, nothing in the prompt.
    retrieval: Mapping[str, KnowledgeQuery] = field(default_factory=dict)
    # A message this short is a follow-up ("and to Canada?"): the customer's message before it joins the query.
    follow_up_max_words: int = 4
    # The tools each route's models may call, and how many rounds of tool calls a turn may take.
    route_tools: Mapping[str, frozenset[str]] = field(default_factory=dict)
    max_tool_steps: Mapping[str, int] = field(default_factory=dict)
    # Channels whose own user id proves who the customer is (a Slack user, a phone number).
    trusted_channels: frozenset[str] = frozenset()

    def retrieval_for(self, route: str) -> KnowledgeQuery:
        return self.retrieval.get(route) or self.retrieval.get("*") or KnowledgeQuery("")


@dataclass(frozen=True, slots=True)
class TurnReport:
    """A finished turn as its observers hear of it: what it was, never whose."""

    channel: str
    outcome: str  # answered | escalated | relayed | failed | missed
    latency_s: float
    route: str | None = None
    tier: str | None = None
    escalation_reason: str | None = None  # set when this turn handed the conversation to a person
    calls: tuple[CallRecord, ...] = ()  # its model calls, as stored


class TurnObserver(Protocol):
    """What hears of turns as they finish (the Prometheus exporter); it must not block or raise."""

    def turn_done(self, report: TurnReport) -> None: ...

    def retrieved(self, seconds: float) -> None: ...


class NoObserver:
    def turn_done(self, report: TurnReport) -> None:
        pass

    def retrieved(self, seconds: float) -> None:
        pass


@dataclass(slots=True)
class TurnParts:
    store: ConversationStore
    router: Router
    chains: Mapping[str, RouteStrategy]
    persona: Persona
    escalation: EscalationPolicy
    bus: EventBus
    settings: TurnSettings
    channels: Mapping[str, ChannelTraits]
    model_tier: ModelIntentTier | None = None
    retriever: Retriever | None = None  # None: no knowledge base, and prompts say nothing of one
    tools: ToolBox | None = None  # None: no route calls tools
    observer: TurnObserver = field(default_factory=NoObserver)
    _prompts: dict[tuple[str, str], str] = field(default_factory=dict)

    def traits(self, channel: str) -> ChannelTraits:
        return traits_of(self.channels, channel)

    def system_prompt(self, route: str, style: str) -> str:
        """The persona's prompt for a route and channel style, rendered once."""
        key = (route, style)
        prompt = self._prompts.get(key)
        if prompt is None:
            prompt = self._prompts[key] = system_prompt(self.persona, route, style)
        return prompt

    async def publish(self, conversation_id: str, kind: str, data: dict[str, object]) -> None:
        await self.bus.publish(ConversationEvent(kind, conversation_id, data))

    async def publish_staff(self, kind: str, conversation_id: str, data: dict[str, object]) -> None:
        """Tell every staff console: a new escalation, or a customer message a person should see."""
        await self.bus.publish(ConversationEvent(kind, STAFF_TOPIC, {"conversation_id": conversation_id, **data}))

"""Part of the composition root: the router, the conversation manager and the recovery of missed turns."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

import httpx

from agent.app.channels import deployed, named
from agent.app.gateway import build_gateway
from agent.app.knowledge import build_knowledge_search, knowledge_encoder, retrieval_by_route
from agent.app.shared import SharedState
from agent.app.tools import build_toolbox
from agent.contracts import Retriever
from agent.conversation import ConversationManager, TurnSettings
from agent.conversation.parts import TurnObserver
from agent.escalation import EscalationPolicy, Triggers
from agent.live.events import InProcessEventBus
from agent.live.locks import InProcessLocks
from agent.models import ChatMessage, ChatRequest, Gateway, ManagedModel, ModelChain
from agent.recovery import Recovery, RecoveryPolicy
from agent.routing import Router, load_intents
from agent.routing.cache import trained_classifier
from agent.routing.model_tier import ModelIntentTier
from agent.routing.semantic import SemanticIntentClassifier
from agent.settings import Settings
from agent.store import ConversationStore
from agent.store.outbox import OutboxStore
from personas import load_persona


def build_router(settings: Settings, retrain: bool = False) -> Router:
    intents_file = settings.resolve(settings.routing.intents_file)
    catalog = load_intents(intents_file, set(settings.routes))
    routing = settings.routing
    classifier = trained_classifier(catalog, intents_file, settings.data_dir / "cache", retrain, routing.classifier)
    semantic = isinstance(classifier, SemanticIntentClassifier)
    return Router(
        catalog,
        routing.default_route,
        routing.semantic_threshold if semantic else routing.confidence_threshold,
        routing.follow_up_threshold,
        routing.follow_up_max_words,
        classifier=classifier,
    )


def ask_model(model: ManagedModel, max_tokens: int) -> Callable[[str], Awaitable[str | None]]:
    """One prompt in, the model's text out (None when it failed): for the router's and the summary's asks."""
    chain = ModelChain([model])

    async def ask(prompt: str) -> str | None:
        result = await chain.run(ChatRequest([ChatMessage("user", prompt)], max_tokens=max_tokens, temperature=0.0))
        return result.result.text if result.result else None

    return ask


def build_model_tier(router: Router, model: ManagedModel) -> ModelIntentTier:
    return ModelIntentTier(router.catalog, ask_model(model, max_tokens=16))


def build_manager(
    settings: Settings,
    store: ConversationStore,
    client: httpx.AsyncClient,
    outbox: OutboxStore | None = None,
    gateway: Gateway | None = None,
    shared: SharedState | None = None,
    retriever: Retriever | None = None,
    tool_variables: Mapping[str, str] | None = None,
    router: Router | None = None,
    observer: TurnObserver | None = None,
) -> ConversationManager:
    """`retriever` defaults to the knowledge base's search as `knowledge.semantic` configures it;
    `tool_variables` are what this process provides the tools' `${...}` (the demo store's URL);
    `router`, built from the settings when not given, holds no conversation's state and may be shared;
    `observer` hears of every finished turn (the Prometheus metrics)."""
    persona = load_persona(settings.persona)
    retriever = retriever or build_knowledge_search(settings, store.database, knowledge_encoder(settings))
    gateway = gateway or build_gateway(settings, persona)
    models = gateway.models
    router = router or build_router(settings)
    tier_model = settings.routing.model_tier
    escalation = settings.escalation
    return ConversationManager(
        model_tier=build_model_tier(router, models[tier_model]) if tier_model else None,
        store=store,
        outbox=outbox,
        router=router,
        chains=gateway.routes,
        persona=persona,
        escalation=EscalationPolicy(
            escalation.intents,
            escalation.phrases,
            escalation.on_chain_exhausted,
            escalation.unknown_streak,
            Triggers(escalation.frustration_threshold, escalation.sensitive_topics, escalation.on_repeat),
            escalation.identity_intents,
        ),
        locks=shared.locks if shared else InProcessLocks(),
        events=shared.bus if shared else InProcessEventBus(),
        channels=deployed(settings),
        retriever=retriever,
        tools=build_toolbox(settings, client, retriever, tool_variables)
        if any(r.tools for r in settings.routes.values())
        else None,
        settings=TurnSettings(
            max_text_chars=settings.limits.max_text_chars,
            history_messages=settings.limits.history_messages,
            turn_timeout_s=settings.turn_timeout_s,
            unknown_action=settings.routing.unknown_action,
            retrieval=retrieval_by_route(settings),
            follow_up_max_words=settings.routing.follow_up_max_words,
            route_tools={name: frozenset(route.tools) for name, route in settings.routes.items()},
            max_tool_steps={name: route.max_tool_steps for name, route in settings.routes.items()},
            trusted_channels=frozenset(settings.verification.trusted_channels),
        ),
        observer=observer,
    )


def build_recovery(settings: Settings, manager: ConversationManager) -> Recovery:
    recovery = settings.recovery
    policy = RecoveryPolicy(
        # Only where the customer still reads a late answer; a call or a terminal chat is over by then.
        channels=named("pushable"),
        max_age_s=recovery.max_age_s,
        # Past any turn still running in some process: then a stored message with no turn was orphaned.
        orphaned_after_s=recovery.orphaned_after_s or settings.turn_timeout_s + 30,
        concurrency=recovery.concurrency,
    )
    return Recovery(manager, policy)

"""The composition root: builds every part from settings and serves them over aiohttp."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Callable
from datetime import timedelta

import httpx
import structlog
from aiohttp import web

from agent import keys
from agent.accounts import StaffAccounts
from agent.conversation import ConversationManager, TurnSettings
from agent.contracts import STAFF_TOPIC
from agent.escalation import EscalationPolicy, Triggers
from agent.escalation.hours import BusinessHours
from agent.escalation.webhook import EscalationWebhook
from agent.events import InProcessEventBus
from agent.handoff import Handoff
from agent.locks import InProcessLocks
from agent.models import ChatMessage, ChatModel, ChatRequest, ModelChain
from agent.models.local import Catalog, KnowledgeBase, LocalModel, load_articles
from agent.models.openai import OpenAICompatibleModel
from agent.routing import Router, load_intents
from agent.routing.cache import trained_classifier
from agent.routing.semantic import SemanticIntentClassifier
from agent.routing.model_tier import ModelIntentTier
from agent.settings import ConfigError, Settings
from agent.store import AccountStore, Database, HandoffStore, Store
from agent.store.migrate import ensure_current
from channels.http import json_errors
from channels.staff import ConsoleOptions, StaffConsole
from channels.webchat import TokenSigner, WebChat, WidgetInfo
from personas import Persona, load_persona

log = structlog.get_logger(__name__)


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


async def healthz(request: web.Request) -> web.Response:
    await request.app[keys.STORE].ping()
    return web.json_response({"status": "ok"})


def build_models(settings: Settings, persona: Persona, client: httpx.AsyncClient) -> dict[str, ChatModel]:
    knowledge = settings.knowledge
    local_data: tuple[KnowledgeBase, Catalog] | None = None
    models: dict[str, ChatModel] = {}
    for name, spec in settings.models.items():
        if spec.provider == "local":
            if local_data is None:
                local_data = (
                    KnowledgeBase(load_articles(settings.resolve(knowledge.articles))),
                    Catalog.from_files(settings.resolve(knowledge.catalog), settings.resolve(knowledge.orders)),
                )
            models[name] = LocalModel(*local_data, greeting=persona.greeting, fallback=persona.fallback, name=name)
        else:
            api_key = os.environ.get(spec.api_key_env) if spec.api_key_env else None
            if spec.api_key_env and not api_key:
                raise ConfigError(f"models.{name}.api_key_env: environment variable {spec.api_key_env} is not set")
            assert spec.base_url is not None
            models[name] = OpenAICompatibleModel(
                name=name,
                model=spec.model or name,
                client=client,
                base_url=spec.base_url,
                api_key=api_key,
                timeout_s=spec.timeout_s,
                max_tokens=spec.max_tokens,
                temperature=spec.temperature,
            )
    return models


def build_model_tier(router: Router, model: ChatModel) -> ModelIntentTier:
    chain = ModelChain([model])

    async def ask(prompt: str) -> str | None:
        result = await chain.run(ChatRequest([ChatMessage("user", prompt)], max_tokens=16, temperature=0.0))
        return result.result.text if result.result else None

    return ModelIntentTier(router.catalog, ask)


def build_manager(settings: Settings, store: Store, client: httpx.AsyncClient) -> ConversationManager:
    persona = load_persona(settings.persona)
    models = build_models(settings, persona, client)
    router = build_router(settings)
    tier_model = settings.routing.model_tier
    escalation = settings.escalation
    return ConversationManager(
        model_tier=build_model_tier(router, models[tier_model]) if tier_model else None,
        store=store,
        router=router,
        chains={route: ModelChain([models[n] for n in policy.chain]) for route, policy in settings.routes.items()},
        persona=persona,
        escalation=EscalationPolicy(
            escalation.intents,
            escalation.phrases,
            escalation.on_chain_exhausted,
            escalation.unknown_streak,
            Triggers(escalation.frustration_threshold, escalation.sensitive_topics, escalation.on_repeat),
        ),
        locks=InProcessLocks(),
        events=InProcessEventBus(),
        settings=TurnSettings(
            max_text_chars=settings.limits.max_text_chars,
            history_messages=settings.limits.history_turns,
            turn_timeout_s=settings.turn_timeout_s,
            unknown_action=settings.routing.unknown_action,
        ),
    )


def build_accounts(settings: Settings, database: Database) -> StaffAccounts:
    return StaffAccounts(AccountStore(database), timedelta(hours=settings.staff.session_hours))


def build_handoff(settings: Settings, manager: ConversationManager, database: Database) -> Handoff:
    """The staff side shares the manager's locks and event bus: one order of events per conversation."""
    return Handoff(HandoffStore(database), manager.locks, manager.bus, settings.limits.max_text_chars)


def build_staff_console(settings: Settings, handoff: Handoff, database: Database) -> StaffConsole:
    options = ConsoleOptions(
        canned_responses=[(c.title, c.text) for c in settings.staff.canned_responses],
        secure_cookie=settings.staff.secure_cookie,
    )
    return StaffConsole(handoff, build_accounts(settings, database), options)


def build_webhook(settings: Settings, client: httpx.AsyncClient) -> EscalationWebhook | None:
    url = settings.escalation.webhook_url
    if not url:
        return None
    secret = os.environ.get(settings.escalation.webhook_secret_env)
    if not secret:
        raise ConfigError(
            f"escalation.webhook_url is set but the secret variable {settings.escalation.webhook_secret_env} is not"
        )
    return EscalationWebhook(url, secret, client)


def unclaimed_notices_ctx(
    settings: Settings, handoff: Handoff, persona: Persona
) -> Callable[[web.Application], AsyncIterator[None]]:
    """A background sweep telling waiting customers when nobody has picked them up yet."""
    escalation = settings.escalation
    hours = escalation.business_hours
    business_hours = BusinessHours(hours.timezone, hours.days) if hours else None
    waited = escalation.unclaimed_after_s
    # Often enough that the notice comes close to the configured wait, never busier than 1/s.
    interval = min(30.0, max(1.0, waited / 4))

    async def sweep() -> None:
        while True:
            try:
                await handoff.notify_unclaimed(waited, persona.unclaimed, persona.after_hours, business_hours)
            except Exception:  # a failed sweep is retried on the next one, not fatal
                log.exception("unclaimed_sweep_failed")
            await asyncio.sleep(interval)

    async def context(app: web.Application) -> AsyncIterator[None]:
        task = asyncio.create_task(sweep())
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    return context


def create_app(settings: Settings) -> web.Application:
    """Everything is constructed here; parts get their dependencies through constructors.

    Construction touches no network: the database is first reached in `database_ctx`.
    """
    store = Store(Database(settings.database_url, echo=settings.database.echo))
    client = httpx.AsyncClient(limits=httpx.Limits(max_connections=100))
    manager = build_manager(settings, store, client)

    app = web.Application(middlewares=[json_errors], client_max_size=64 * 1024)
    app[keys.STORE] = store

    async def database_ctx(app: web.Application) -> AsyncIterator[None]:
        try:
            await ensure_current(store)
            log.info("started", database=store.database.display_url, persona=manager.persona.id)
            yield
        finally:
            await store.close()

    async def http_client_ctx(app: web.Application) -> AsyncIterator[None]:
        yield
        await client.aclose()

    app.cleanup_ctx.extend([http_client_ctx, database_ctx])
    webhook = build_webhook(settings, client)
    if webhook is not None:

        async def webhook_ctx(app: web.Application) -> AsyncIterator[None]:
            # Subscribed before the first request, so no escalation is missed.
            task = asyncio.create_task(webhook.run(manager.bus.subscribe(STAFF_TOPIC)))
            yield
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

        app.cleanup_ctx.append(webhook_ctx)

    webchat = WebChat(
        manager,
        TokenSigner(settings.ensure_secret_key()),
        WidgetInfo(name=manager.persona.name, greeting=manager.persona.greeting, max_chars=settings.limits.max_text_chars),
    )
    handoff = build_handoff(settings, manager, store.database)
    console = build_staff_console(settings, handoff, store.database)
    if settings.escalation.unclaimed_after_s:
        app.cleanup_ctx.append(unclaimed_notices_ctx(settings, handoff, manager.persona))
    app.on_shutdown.extend([webchat.close_sockets, console.close_sockets])
    app.add_routes([web.get("/healthz", healthz), *webchat.routes(), *console.routes()])
    return app

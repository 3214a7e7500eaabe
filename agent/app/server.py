"""The composition root: builds every part from settings and serves them over aiohttp."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import structlog
from aiohttp import web

from agent.app import keys
from agent.app.channels import CHANNELS
from agent.app.demo_store import demo_store_ctx
from agent.app.gateway import build_gateway
from agent.app.health import healthz, model_metrics
from agent.app.knowledge import build_knowledge_search, knowledge_ctx, knowledge_encoder
from agent.app.manager import build_manager, build_recovery
from agent.app.outbox import OutboxChannels, build_outbox_sender
from agent.app.prometheus import PrometheusMetrics, prometheus_handler
from agent.app.shared import build_shared_state
from agent.app.slack import build_slack
from agent.app.staff import (
    build_handoff,
    build_staff_console,
    build_summarizer,
    unclaimed_notices_ctx,
)
from agent.app.twilio import build_twilio
from agent.contracts import STAFF_TOPIC, RateLimiter
from agent.escalation.webhook import EscalationWebhook
from agent.settings import Settings, environment
from agent.store import Database, ConversationStore
from agent.store.knowledge import KnowledgeStore
from agent.store.migrate import ensure_current
from agent.store.outbox import OutboxBell, OutboxRouting, OutboxStore
from agent.tasks import while_serving
from channels import openapi, pages
from channels.http import body_deadline, json_errors
from channels.live import SocketCap
from channels.webchat import ChatLimits, TokenSigner, WebChat, WidgetInfo
from personas import load_persona

log = structlog.get_logger(__name__)


def build_chat_limits(settings: Settings, limiter: RateLimiter) -> ChatLimits:
    rates = settings.rate_limits
    server = settings.server
    return ChatLimits(
        limiter=limiter if rates.enabled else None,
        window_s=rates.window_s,
        conversations_per_address=rates.conversations_per_address,
        messages_per_address=rates.messages_per_address,
        messages_per_conversation=rates.messages_per_conversation,
        sockets=SocketCap(server.max_sockets_per_address, server.max_sockets),
        trusted_proxies=tuple(server.trusted_proxies),
    )


def build_webhook(settings: Settings, client: httpx.AsyncClient) -> EscalationWebhook | None:
    url = settings.escalation.webhook_url
    if not url:
        return None
    return EscalationWebhook(url, environment.webhook_secret(settings.escalation), client)


def create_app(settings: Settings) -> web.Application:
    """Everything is constructed here; parts get their dependencies through constructors.

    Construction touches no network: the database is first reached in `database_ctx`.
    """
    database = Database(settings.database_url, echo=settings.database.echo)
    client = httpx.AsyncClient(limits=httpx.Limits(max_connections=100))
    outbox_channels = OutboxChannels()
    bell = OutboxBell()
    routing = OutboxRouting(outbox_channels.holds, bell)
    store = ConversationStore(database, routing)
    gateway = build_gateway(settings, load_persona(settings.persona))
    shared = build_shared_state(settings)
    encoder = knowledge_encoder(settings)  # one model, for the start-up ingest and every search
    retriever = build_knowledge_search(settings, database, encoder)
    provided: dict[str, str] = {}  # what the tools' ${...} get from this process once it serves
    outbox = OutboxStore(database, bell)
    prometheus = PrometheusMetrics()
    manager = build_manager(settings, store, client, outbox, gateway, shared, retriever, provided, observer=prometheus)
    prometheus.watch(gateway, manager.parts.tools)

    middlewares = [json_errors, body_deadline(settings.server.body_timeout_s)]
    app = web.Application(middlewares=middlewares, client_max_size=64 * 1024)
    app[keys.STORE] = store
    app[keys.GATEWAY] = gateway
    if manager.parts.tools is not None:
        app[keys.TOOLS] = manager.parts.tools

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

    async def model_gateway_ctx(app: web.Application) -> AsyncIterator[None]:
        yield
        await gateway.aclose()  # the providers' pooled connections

    app.cleanup_ctx.extend(
        [
            http_client_ctx,
            model_gateway_ctx,
            database_ctx,
            knowledge_ctx(settings, KnowledgeStore(database), encoder),
            demo_store_ctx(settings, provided),
        ]
    )
    if shared.context is not None:
        app.cleanup_ctx.append(shared.context)

    async def turns_ctx(app: web.Application) -> AsyncIterator[None]:
        yield
        await manager.close()  # before the shared line and the database go

    app.cleanup_ctx.append(turns_ctx)
    webhook = build_webhook(settings, client)
    if webhook is not None:
        # Subscribed at start-up, before the first request, so no escalation is missed. Local
        # only: with several processes, the one that escalated posts it, once.
        app.cleanup_ctx.append(
            while_serving("escalation_webhook", lambda: webhook.run(manager.bus.subscribe(STAFF_TOPIC, local_only=True)))
        )

    webchat = WebChat(
        manager,
        TokenSigner(settings.ensure_secret_key()),
        WidgetInfo(name=manager.persona.name, greeting=manager.persona.greeting, max_chars=settings.limits.max_text_chars),
        build_chat_limits(settings, shared.limiter),
    )
    handoff = build_handoff(settings, manager, database, routing, build_summarizer(settings, gateway))
    console = build_staff_console(settings, handoff, store.database, shared.limiter)
    if settings.escalation.unclaimed_after_s:
        app.cleanup_ctx.append(unclaimed_notices_ctx(settings, handoff, manager.persona))
    slack = build_slack(settings, database, manager, handoff, persona=manager.persona)
    if slack is not None:
        # Slack answers always leave through the outbox: Slack has its 200 before the turn runs
        # (its traits declare no inline wait, so nothing is held for one).
        outbox_channels.add(slack.outbound, inline_hold_s=CHANNELS[slack.outbound.name].inline_answer_s)
        app.cleanup_ctx.extend(slack.contexts)
        app.add_routes(slack.channel.routes())
    twilio = build_twilio(settings, manager, database, outbox_channels)
    if twilio is not None:
        app.add_routes(twilio.routes)
        app.cleanup_ctx.extend(twilio.cleanup)
        app.on_shutdown.extend(twilio.shutdown)
    if outbox_channels.channels:
        app.cleanup_ctx.append(while_serving("outbox_sender", build_outbox_sender(settings, database, outbox_channels, bell).run))
    # After the database and the shared line are up, before the first request.
    app.cleanup_ctx.append(build_recovery(settings, manager).context())
    app.on_shutdown.extend([webchat.close_sockets, console.close_sockets])
    app.add_routes([web.get("/healthz", healthz), *pages.routes(), *webchat.routes(), *console.routes(), *openapi.routes()])
    metrics_token = environment.metrics_token(settings.server)
    app.add_routes(
        [
            web.get("/api/metrics/models", model_metrics(metrics_token)),
            web.get("/metrics", prometheus_handler(metrics_token, prometheus, gateway, outbox)),
        ]
    )
    return app

"""The composition root: builds every part from settings and serves them over aiohttp."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta

import httpx
import structlog
from aiohttp import web
from redis.asyncio import Redis

from agent.app import keys
from agent.staff.accounts import StaffAccounts
from agent.conversation import ConversationManager, TurnSettings
from agent.contracts import STAFF_TOPIC, OutboundChannel, RateLimiter
from agent.escalation import EscalationPolicy, Triggers
from agent.escalation.hours import BusinessHours
from agent.escalation.webhook import EscalationWebhook
from agent.live.events import EventBus, InProcessEventBus
from agent.staff.handoff import Handoff, HandoffNotices
from agent.live.limits import InMemoryRateLimiter
from agent.live.locks import ConversationLocks, InProcessLocks
from agent.app.gateway import build_gateway
from agent.models import ChatMessage, ChatRequest, Gateway, ManagedModel, ModelChain
from agent.outbox.sender import DeliveryPolicy, OutboxSender
from agent.live.redis_events import RedisEventBus
from agent.recovery import Recovery, RecoveryPolicy
from agent.live.redis_limits import RedisRateLimiter
from agent.live.redis_locks import RedisLocks
from agent.routing import Router, load_intents
from agent.routing.cache import trained_classifier
from agent.routing.semantic import SemanticIntentClassifier
from agent.routing.model_tier import ModelIntentTier
from agent.settings import ConfigError, Settings
from agent.app.slack import build_slack
from agent.staff.model_summary import ModelSummarizer
from agent.store import AccountStore, Database, HandoffStore, OptOutStore, Store
from agent.store.migrate import ensure_current
from agent.store.outbox import NO_OUTBOX, OutboxBell, OutboxRouting, OutboxStore
from channels import openapi, pages
from channels.http import body_deadline, json_error, json_errors, same_secret
from channels.live import SocketCap
from channels.slack.outbound import CHANNEL as SLACK_CHANNEL
from channels.staff import ConsoleOptions, StaffConsole
from channels.twilio.signature import TwilioSignature
from channels.twilio.sms import Keywords, SmsOptions, SmsOutbound, SmsSender, SmsWebhook
from channels.twilio.voice import RelayEndpoint, VoiceOptions, VoiceTwiml, VoiceWebhooks
from channels.twilio.voice.inbound import CHANNEL as VOICE_CHANNEL
from channels.webchat import ChatLimits, TokenSigner, WebChat, WidgetInfo
from personas import Persona, load_persona, to_speech

log = structlog.get_logger(__name__)


def model_metrics(token: str | None) -> Callable[[web.Request], Awaitable[web.Response]]:
    """Per model: calls, outcomes, latency, tokens, cost, breaker states; per route: cache hits.

    Served only with a bearer token from the environment: it names models, deployments and spend.
    """

    async def handler(request: web.Request) -> web.Response:
        if token is None:
            return json_error(404, "metrics_disabled", "Set the metrics token variable (server.metrics_token_env) to serve metrics.")
        sent = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if not same_secret(sent, token):
            return json_error(401, "unauthorized", "Send the metrics token as 'Authorization: Bearer <token>'.")
        return web.json_response(request.app[keys.GATEWAY].snapshot())

    return handler


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


def ask_model(model: ManagedModel, max_tokens: int) -> Callable[[str], Awaitable[str | None]]:
    """One prompt in, the model's text out (None when it failed): for the router's and the summary's asks."""
    chain = ModelChain([model])

    async def ask(prompt: str) -> str | None:
        result = await chain.run(ChatRequest([ChatMessage("user", prompt)], max_tokens=max_tokens, temperature=0.0))
        return result.result.text if result.result else None

    return ask


def build_model_tier(router: Router, model: ManagedModel) -> ModelIntentTier:
    return ModelIntentTier(router.catalog, ask_model(model, max_tokens=16))


def build_summarizer(settings: Settings, gateway: Gateway) -> ModelSummarizer | None:
    name = settings.escalation.summary_model
    if not name:
        return None
    return ModelSummarizer(ask_model(gateway.models[name], max_tokens=300), timeout_s=settings.escalation.summary_timeout_s)


def build_manager(
    settings: Settings,
    store: Store,
    client: httpx.AsyncClient,
    outbox: OutboxStore | None = None,
    gateway: Gateway | None = None,
    shared: "SharedState | None" = None,
) -> ConversationManager:
    persona = load_persona(settings.persona)
    gateway = gateway or build_gateway(settings, persona)
    models = gateway.models
    router = build_router(settings)
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
        settings=TurnSettings(
            max_text_chars=settings.limits.max_text_chars,
            history_messages=settings.limits.history_turns,
            turn_timeout_s=settings.turn_timeout_s,
            unknown_action=settings.routing.unknown_action,
        ),
    )


def build_accounts(settings: Settings, database: Database) -> StaffAccounts:
    return StaffAccounts(AccountStore(database), timedelta(hours=settings.staff.session_hours))


def build_handoff(
    settings: Settings,
    manager: ConversationManager,
    database: Database,
    outbox: OutboxRouting = NO_OUTBOX,
    summarizer: ModelSummarizer | None = None,
) -> Handoff:
    """The staff side shares the manager's locks and event bus: one order of events per conversation."""
    persona = manager.persona
    # An empty text says nothing.
    notices = HandoffNotices(persona.staff_joined, persona.staff_resolved, persona.handed_back, persona.closed)
    return Handoff(
        HandoffStore(database, outbox, silent_channels=frozenset({VOICE_CHANNEL})),
        manager.locks,
        manager.bus,
        settings.limits.max_text_chars,
        summarizer,
        notices,
    )


def build_staff_console(settings: Settings, handoff: Handoff, database: Database, limiter: RateLimiter) -> StaffConsole:
    options = ConsoleOptions(
        canned_responses=[(c.title, c.text) for c in settings.staff.canned_responses],
        secure_cookie=settings.staff.secure_cookie,
        session_recheck_s=settings.staff.session_recheck_s,
        login_attempts=settings.staff.login_attempts,
        login_window_s=settings.staff.login_window_s,
        trusted_proxies=tuple(settings.server.trusted_proxies),
    )
    return StaffConsole(handoff, build_accounts(settings, database), limiter, options)


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
    secret = os.environ.get(settings.escalation.webhook_secret_env)
    if not secret:
        raise ConfigError(
            f"escalation.webhook_url is set but the secret variable {settings.escalation.webhook_secret_env} is not"
        )
    return EscalationWebhook(url, secret, client)


@dataclass(frozen=True, slots=True)
class SharedState:
    """What server processes share beyond the database: live events, turn locks, rate-limit counts."""

    bus: EventBus
    locks: ConversationLocks
    limiter: RateLimiter
    context: Callable[[web.Application], AsyncIterator[None]] | None = None


def build_shared_state(settings: Settings) -> SharedState:
    """In memory for one process; through Redis when `redis.url` is set."""
    if not settings.redis.url:
        return SharedState(InProcessEventBus(), InProcessLocks(), InMemoryRateLimiter())
    # Timeouts and health checks: a half-dead connection must fail (and reconnect), not hang.
    client = Redis.from_url(
        settings.redis.url, socket_connect_timeout=5, socket_timeout=10, socket_keepalive=True, health_check_interval=30
    )
    bus = RedisEventBus(client, settings.redis.prefix)
    locks = RedisLocks(client, settings.redis.prefix, settings.redis.lock_lease_s)

    async def redis_ctx(app: web.Application) -> AsyncIterator[None]:
        await client.ping()  # an unreachable Redis stops start-up with its error, not later
        await bus.start()
        await locks.start()
        log.info("redis_connected", prefix=settings.redis.prefix)
        yield
        await locks.close()
        await bus.close()
        await client.aclose()

    return SharedState(bus, locks, RedisRateLimiter(client, settings.redis.prefix), redis_ctx)


@dataclass(frozen=True, slots=True)
class Outbound:
    """Channels that are sent to through the outbox, with how long each holds a turn's reply for inline delivery."""

    channels: dict[str, OutboundChannel] = field(default_factory=dict)
    holds: dict[str, float] = field(default_factory=dict)

    def add(self, channel: OutboundChannel, inline_hold_s: float = 0.0) -> None:
        self.channels[channel.name] = channel
        self.holds[channel.name] = inline_hold_s


def background_ctx(run: Callable[[], Awaitable[None]]) -> Callable[[web.Application], AsyncIterator[None]]:
    """A cleanup context that runs `run()` as a task from start-up until shutdown."""

    async def context(app: web.Application) -> AsyncIterator[None]:
        task = asyncio.create_task(run())
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    return context


def build_outbox_sender(settings: Settings, database: Database, outbound: Outbound, bell: OutboxBell) -> OutboxSender:
    o = settings.outbox
    policy = DeliveryPolicy(
        poll_interval_s=o.poll_interval_s,
        lease_s=o.lease_s,
        max_attempts=o.max_attempts,
        backoff_base_s=o.backoff_base_s,
        backoff_max_s=o.backoff_max_s,
    )
    store = OutboxStore(database, bell, threaded_channels=frozenset({SLACK_CHANNEL}))
    return OutboxSender(store, outbound.channels, policy, bell)


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

    return background_ctx(sweep)


# Held replies wait this much longer than the SMS webhook does, so only a crashed webhook's
# replies are ever sent by the hold running out rather than by an explicit release.
SMS_HOLD_MARGIN_S = 10.0


@dataclass(frozen=True, slots=True)
class Mounted:
    """A channel's routes and its application hooks, for create_app to add."""

    routes: list[web.AbstractRouteDef] = field(default_factory=list)
    cleanup: list[Callable[[web.Application], AsyncIterator[None]]] = field(default_factory=list)
    shutdown: list[Callable[[web.Application], Awaitable[None]]] = field(default_factory=list)


def build_twilio(settings: Settings, manager: ConversationManager, database: Database, outbound: Outbound) -> Mounted | None:
    """The SMS and voice channels under /twilio, or None when Twilio is off.

    The SMS sender joins `outbound`, holding each reply for the webhook to answer inline first.
    """
    credentials = settings.twilio_credentials()
    if credentials is None:
        log.info("twilio_off", reason=f"{settings.twilio.account_sid_env} and {settings.twilio.auth_token_env} not set")
        return None
    account_sid, auth_token = credentials
    config = settings.twilio
    if not settings.server.public_url:
        log.warning("twilio_without_public_url", hint="set SWITCHBOARD_PUBLIC_URL behind a proxy, or signatures fail")
    signature = TwilioSignature(auth_token, settings.server.public_url)
    persona = manager.persona
    mounted = Mounted()
    if config.sms.enabled:
        sms = config.sms
        optouts = OptOutStore(database)
        sender = SmsSender(
            account_sid=account_sid,
            auth_token=auth_token,
            api_base_url=config.api_base_url,
            from_number=sms.from_number,
            messaging_service_sid=sms.messaging_service_sid,
            segment_budget=sms.segment_budget,
            timeout_s=config.request_timeout_s,
        )
        sms_outbound = SmsOutbound(sender, optouts)
        outbound.add(sms_outbound, inline_hold_s=sms.inline_deadline_s + SMS_HOLD_MARGIN_S)
        webhook = SmsWebhook(
            manager,
            optouts,
            signature,
            SmsOptions(
                help_text=persona.help,
                resubscribed_text=persona.resubscribed,
                inline_deadline_s=sms.inline_deadline_s,
                segment_budget=sms.segment_budget,
                keywords=Keywords.of(sms.opt_out_keywords, sms.opt_in_keywords, sms.help_keywords),
            ),
        )

        async def sms_ctx(app: web.Application) -> AsyncIterator[None]:
            yield
            await webhook.close(app)
            await sms_outbound.close()

        mounted.cleanup.append(sms_ctx)
        mounted.routes.extend(webhook.routes())
    if config.voice.enabled:
        voice = config.voice
        options = VoiceOptions(
            greeting=to_speech(persona.greeting),
            language=voice.language,
            voice=voice.say_voice,
            speech_timeout=voice.speech_timeout,
            speech_model=voice.speech_model,
            hints=tuple(voice.hints),
            input_timeout_s=voice.input_timeout_s,
            num_digits=voice.num_digits,
            reprompts=voice.reprompts,
            turn_deadline_s=voice.turn_deadline_s,
            max_wait_s=voice.max_wait_s,
            filler_text=voice.filler_text,
            reprompt_text=voice.reprompt_text,
            goodbye_text=voice.goodbye_text,
            transfer_text=voice.transfer_text,
            still_waiting_text=voice.still_waiting_text,
            lost_text=voice.lost_text,
            callback_text=voice.callback_text,
            unavailable_text=voice.unavailable_text,
            transfer_number=voice.transfer_number,
            transfer_queue=voice.transfer_queue,
            transfer_timeout_s=voice.transfer_timeout_s,
            relay_url=settings.relay_url(),
            relay_voice=voice.relay.voice,
            relay_tts_provider=voice.relay.tts_provider,
        )
        calls = VoiceWebhooks(manager, manager, signature, VoiceTwiml(options))
        relay = RelayEndpoint(manager, manager, signature, options)

        async def voice_ctx(app: web.Application) -> AsyncIterator[None]:
            yield
            await calls.close(app)

        mounted.cleanup.append(voice_ctx)
        mounted.shutdown.append(relay.close_sockets)
        mounted.routes.extend([*calls.routes(), *relay.routes()])
    return mounted


# Channels whose customer still reads a late answer; a call or a terminal chat is over by then.
RECOVERED_CHANNELS = frozenset({"web", "slack", "sms"})


def build_recovery(settings: Settings, manager: ConversationManager) -> Recovery:
    recovery = settings.recovery
    policy = RecoveryPolicy(
        channels=RECOVERED_CHANNELS,
        max_age_s=recovery.max_age_s,
        # Past any turn still running in some process: then a stored message with no turn was orphaned.
        orphaned_after_s=recovery.orphaned_after_s or settings.turn_timeout_s + 30,
        concurrency=recovery.concurrency,
    )
    return Recovery(manager, policy)


def create_app(settings: Settings) -> web.Application:
    """Everything is constructed here; parts get their dependencies through constructors.

    Construction touches no network: the database is first reached in `database_ctx`.
    """
    database = Database(settings.database_url, echo=settings.database.echo)
    client = httpx.AsyncClient(limits=httpx.Limits(max_connections=100))
    outbound = Outbound()
    bell = OutboxBell()
    routing = OutboxRouting(outbound.holds, bell)
    store = Store(database, routing)
    gateway = build_gateway(settings, load_persona(settings.persona))
    shared = build_shared_state(settings)
    manager = build_manager(settings, store, client, OutboxStore(database, bell), gateway, shared)

    middlewares = [json_errors, body_deadline(settings.server.body_timeout_s)]
    app = web.Application(middlewares=middlewares, client_max_size=64 * 1024)
    app[keys.STORE] = store
    app[keys.GATEWAY] = gateway

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

    app.cleanup_ctx.extend([http_client_ctx, model_gateway_ctx, database_ctx])
    if shared.context is not None:
        app.cleanup_ctx.append(shared.context)
    webhook = build_webhook(settings, client)
    if webhook is not None:
        # Subscribed at start-up, before the first request, so no escalation is missed. Local
        # only: with several processes, the one that escalated posts it, once.
        app.cleanup_ctx.append(
            background_ctx(lambda: webhook.run(manager.bus.subscribe(STAFF_TOPIC, local_only=True)))
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
        # Slack answers always leave through the outbox: Slack has its 200 before the turn runs.
        outbound.add(slack.outbound, inline_hold_s=0)
        app.cleanup_ctx.extend(slack.contexts)
        app.add_routes(slack.channel.routes())
    twilio = build_twilio(settings, manager, database, outbound)
    if twilio is not None:
        app.add_routes(twilio.routes)
        app.cleanup_ctx.extend(twilio.cleanup)
        app.on_shutdown.extend(twilio.shutdown)
    if outbound.channels:
        app.cleanup_ctx.append(background_ctx(build_outbox_sender(settings, database, outbound, bell).run))
    # After the database and the shared line are up, before the first request.
    app.cleanup_ctx.append(build_recovery(settings, manager).context())
    app.on_shutdown.extend([webchat.close_sockets, console.close_sockets])
    app.add_routes([web.get("/healthz", healthz), *pages.routes(), *webchat.routes(), *console.routes(), *openapi.routes()])
    metrics_token = os.environ.get(settings.server.metrics_token_env) or None
    app.add_routes([web.get("/api/metrics/models", model_metrics(metrics_token))])
    return app

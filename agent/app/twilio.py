"""Part of the composition root: the SMS and voice channels under /twilio."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import structlog
from aiohttp import web

from agent.app.channels import deployed
from agent.app.outbox import OutboxChannels
from agent.conversation import ConversationManager
from agent.settings import Settings
from agent.store import Database, OptOutStore
from channels.twilio.signature import TwilioSignature
from channels.twilio.sms import Keywords, SmsOptions, SmsOutbound, SmsSender, SmsWebhook
from channels.twilio.voice import RelayEndpoint, VoiceOptions, VoiceTwiml, VoiceWebhooks
from personas import to_speech

log = structlog.get_logger(__name__)


# Held replies wait this much longer than the SMS webhook does, so only a crashed webhook's
# replies are ever sent by the hold running out rather than by an explicit release.
SMS_HOLD_MARGIN_S = 10.0


@dataclass(frozen=True, slots=True)
class Mounted:
    """A channel's routes and its application hooks, for create_app to add."""

    routes: list[web.AbstractRouteDef] = field(default_factory=list)
    cleanup: list[Callable[[web.Application], AsyncIterator[None]]] = field(default_factory=list)
    shutdown: list[Callable[[web.Application], Awaitable[None]]] = field(default_factory=list)


def build_twilio(settings: Settings, manager: ConversationManager, database: Database, outbox_channels: OutboxChannels) -> Mounted | None:
    """The SMS and voice channels under /twilio, or None when Twilio is off.

    The SMS sender joins `outbox_channels`, holding each reply for the webhook to answer inline first.
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
        sms_traits = deployed(settings)["sms"]
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
        outbox_channels.add(sms_outbound, inline_hold_s=sms_traits.inline_answer_s + SMS_HOLD_MARGIN_S)
        webhook = SmsWebhook(
            manager,
            optouts,
            signature,
            SmsOptions(
                help_text=persona.help,
                resubscribed_text=persona.resubscribed,
                segment_budget=sms.segment_budget,
                keywords=Keywords.of(sms.opt_out_keywords, sms.opt_in_keywords, sms.help_keywords),
            ),
            sms_traits,
        )

        async def sms_ctx(app: web.Application) -> AsyncIterator[None]:
            yield
            await sms_outbound.close()

        mounted.cleanup.append(sms_ctx)
        mounted.routes.extend(webhook.routes())
    if config.voice.enabled:
        voice = config.voice
        # The settings' fields that VoiceOptions shares by name, then the few it names or shapes differently.
        same = {f.name for f in dataclasses.fields(VoiceOptions)} & set(type(voice).model_fields)
        options = VoiceOptions(
            **{**{name: getattr(voice, name) for name in same}, "hints": tuple(voice.hints)},
            greeting=to_speech(persona.greeting),
            voice=voice.say_voice,
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

"""POST /twilio/sms: signed, stored, answered inline when quick, through the outbox when not.

The manager stores the message and gives its turn the channel's `inline_answer_s` (well inside
Twilio's 15 s). A reply ready by then is answered as TwiML; a later one leaves the webhook with
empty TwiML at once, and the outbox sends it through the REST API as soon as the turn is done.
"""

from __future__ import annotations

from dataclasses import dataclass

import structlog
from aiohttp import web

from agent.contracts import ChannelTraits, ConversationService, InvalidMessage, OptOutRegistry
from agent.text import is_blank
from channels.twilio.signature import TwilioSignature
from channels.twilio.sms.inbound import TRAITS, BadSms, Sms, parse_sms, to_inbound
from channels.twilio.sms.keywords import Keyword, Keywords
from channels.twilio.sms.outbound import to_twiml
from channels.twilio.sms.segments import split_message
from channels.twilio.twiml import empty, forbidden, twiml

log = structlog.get_logger(__name__)
PATH = "/twilio/sms"


@dataclass(frozen=True, slots=True)
class SmsOptions:
    help_text: str
    resubscribed_text: str
    segment_budget: int = 3
    keywords: Keywords = Keywords()


class SmsWebhook:
    def __init__(
        self,
        service: ConversationService,
        optouts: OptOutRegistry,
        signature: TwilioSignature,
        options: SmsOptions,
        traits: ChannelTraits = TRAITS,
    ) -> None:
        """`traits`: the channel's, as deployed (the inline answer's wait is a setting)."""
        self.service = service
        self.optouts = optouts
        self.signature = signature
        self.options = options
        self.traits = traits

    def routes(self) -> list[web.AbstractRouteDef]:
        return [web.post(PATH, self.receive)]

    async def receive(self, request: web.Request) -> web.Response:
        params = await self.signature.form(request)
        if params is None:
            log.warning("twilio_signature_invalid", path=request.path)
            return forbidden()
        try:
            sms = parse_sms(params)
        except BadSms as exc:
            log.warning("sms_rejected", error=str(exc))
            return empty(400)
        with structlog.contextvars.bound_contextvars(message_sid=sms.message_sid):
            try:
                return await self._handle(sms)
            except Exception:  # the message may not be stored: Twilio shows the error, the customer no trace
                log.exception("sms_failed")
                return empty(500)

    async def _handle(self, sms: Sms) -> web.Response:
        opted_out = await self.optouts.is_opted_out(sms.sender)
        keyword = self.options.keywords.classify(sms.body, opted_out)
        if keyword is not None:
            return await self._keyword(sms, keyword, opted_out)
        inbound = to_inbound(sms)
        if is_blank(inbound.text):  # zero-width and other invisible characters count as nothing
            log.info("sms_empty")
            return empty()
        try:
            # Stored before Twilio gets its 200, however long the turn takes; a failure here is a 500
            # and Twilio's retry, not a lost message. Nothing is sent inline to an opted-out number:
            # the outbox records the refusal, with the reason, for staff to see.
            taken = await self.service.take(inbound, 0.0 if opted_out else self.traits.inline_answer_s)
        except InvalidMessage as exc:
            log.warning("sms_invalid", error=str(exc))
            return empty(400)
        if taken.reply is None or taken.reply.message is None:
            return empty()  # late (the outbox sends it), silent, or a repeat already answered
        return twiml(to_twiml(split_message(taken.reply.message.text, self.options.segment_budget)))

    async def _keyword(self, sms: Sms, keyword: Keyword, opted_out: bool) -> web.Response:
        if not await self.optouts.record(sms.sender, keyword.value, sms.body.strip(), sms.message_sid):
            return empty()  # this keyword message was handled before
        log.info("sms_keyword", keyword=keyword.value)
        if keyword is Keyword.OPT_OUT:
            # Twilio (or the carrier) confirms the opt-out itself; from now on we send nothing.
            return empty()
        if keyword is Keyword.OPT_IN:
            return twiml(to_twiml([self.options.resubscribed_text]))
        if opted_out:
            return empty()  # HELP from an opted-out number: nothing is ever sent to it
        return twiml(to_twiml(split_message(self.options.help_text, self.options.segment_budget)))

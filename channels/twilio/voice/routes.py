"""The voice webhooks: a call is a loop of listen → manager → speak, inside Twilio's 15 s per request.

  POST /twilio/voice               the call arrives: greeting and the first <Gather>
  POST /twilio/voice/gather        the caller spoke, pressed keys, or was silent (?turn, ?silence)
  POST /twilio/voice/collect       come back for an answer that took longer than the deadline
  POST /twilio/voice/transfer-done after <Dial>/<Enqueue> to a person
  POST /twilio/voice/relay-done    after a ConversationRelay session
  POST /twilio/voice/status        call status callbacks: a finished call closes its conversation

Each turn has the caller's CallSid and the turn number as its message id, so a repeated request
never runs a turn twice. Relay turns have ids of their own (relay.message_id), so the loop a failed
relay session falls back to, starting again at turn 1, is never taken for a repeat.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable

import structlog
from aiohttp import web
from twilio.twiml.voice_response import VoiceResponse

from agent.contracts import ChannelSessions, ConversationService, ConversationState, InvalidMessage, Reply
from agent.tasks import within
from channels.twilio.signature import TwilioSignature
from channels.twilio.turns import PendingTurns
from channels.twilio.twiml import empty, forbidden, twiml
from channels.twilio.voice.inbound import (
    CHANNEL,
    FINAL_STATUSES,
    BadCall,
    Call,
    parse_call,
    query_float,
    query_int,
    said,
    to_inbound,
)
from channels.twilio.voice.outbound import BASE, VoiceTwiml, collect_url, gather_url

log = structlog.get_logger(__name__)
PRESSED = "pressed {digit} for a person"

CallHandler = Callable[[web.Request, Call], Awaitable[web.Response]]
HUMAN_STATES = (ConversationState.WAITING, ConversationState.WITH_HUMAN)


class VoiceWebhooks:
    def __init__(
        self,
        service: ConversationService,
        sessions: ChannelSessions,
        signature: TwilioSignature,
        twiml_: VoiceTwiml,
    ) -> None:
        self.service = service
        self.sessions = sessions
        self.signature = signature
        self.build = twiml_
        self.options = twiml_.options
        self.turns: PendingTurns[Reply] = PendingTurns("voice_turns")

    def routes(self) -> list[web.AbstractRouteDef]:
        return [
            web.post(BASE, self._signed(self.incoming, known=False)),
            web.post(f"{BASE}/gather", self._signed(self.gathered)),
            web.post(f"{BASE}/collect", self._signed(self.collect)),
            web.post(f"{BASE}/transfer-done", self._signed(self.transfer_done)),
            web.post(f"{BASE}/relay-done", self._signed(self.relay_done)),
            web.post(f"{BASE}/status", self._signed(self.status)),
        ]

    async def close(self, _app: web.Application) -> None:
        await self.turns.close()

    def _signed(self, handler: CallHandler, known: bool = True) -> Callable[[web.Request], Awaitable[web.Response]]:
        """Signature first (403), then a CallSid (400), then, on follow-ups, a call we know (404)."""

        async def checked(request: web.Request) -> web.Response:
            params = await self.signature.form(request)
            if params is None:
                log.warning("twilio_signature_invalid", path=request.path)
                return forbidden()
            try:
                call = parse_call(params)
                with structlog.contextvars.bound_contextvars(call_sid=call.sid):
                    if known and await self.sessions.find_conversation(CHANNEL, call.sid) is None:
                        log.warning("voice_unknown_call", path=request.path)
                        return twiml(self.build.goodbye(self.options.lost_text), 404)
                    return await handler(request, call)
            except BadCall as exc:
                log.warning("voice_rejected", path=request.path, error=str(exc))
                return empty(400)
            except Exception:  # a caller hears an apology, never silence or a stack trace
                log.exception("voice_failed", path=request.path)
                return twiml(self.build.goodbye(self.options.unavailable_text), 500)

        return checked

    # -- the call -------------------------------------------------------------------------

    async def incoming(self, request: web.Request, call: Call) -> web.Response:
        if await self.sessions.find_conversation(CHANNEL, call.sid) is None:
            conversation_id = await self.service.open_conversation(CHANNEL, call.sid, call.caller)
            log.info("call_started", conversation_id=conversation_id, relay=bool(self.options.relay_url))
        if self.options.relay_url:
            return twiml(self.build.relay(self.options.greeting))
        return twiml(self.build.listen(self.options.greeting, gather_url(1)))

    async def gathered(self, request: web.Request, call: Call) -> web.Response:
        turn = query_int(request.query, "turn", 1)
        silence = query_int(request.query, "silence")
        speech, digits = said(call)
        if not speech and not digits:
            if silence >= self.options.reprompts:
                log.info("call_silent_goodbye", turn=turn)
                return twiml(self.build.goodbye(self.options.goodbye_text))
            return twiml(self.build.listen(self.options.reprompt_text, gather_url(turn, silence + 1)))
        message_id = f"{call.sid}:{turn}"
        if digits == self.options.transfer_digit and not speech:
            words = PRESSED.format(digit=digits)
            inbound = to_inbound(call, f"({words})", message_id, escalate=words)
        else:
            inbound = to_inbound(call, speech or digits, message_id)
        task = self.turns.start((call.sid, turn), self.service.handle(inbound), keep=True)
        return await self._answer_or_wait(call, turn, task, waited=0.0, filler=self.options.filler_text)

    async def collect(self, request: web.Request, call: Call) -> web.Response:
        turn = query_int(request.query, "turn", 1)
        waited = query_float(request.query, "waited")
        task = self.turns.get((call.sid, turn))
        if task is None:
            # Another server process took the turn, or this one restarted: ask again.
            log.warning("voice_turn_not_found", turn=turn)
            return twiml(self.build.listen(self.options.lost_text, gather_url(turn + 1)))
        if waited >= self.options.max_wait_s:
            self.turns.forget_where(lambda key: key == (call.sid, turn))
            log.error("voice_turn_too_slow", turn=turn, waited_s=waited)
            return twiml(self.build.listen(self.options.lost_text, gather_url(turn + 1)))
        return await self._answer_or_wait(call, turn, task, waited, filler=self.options.still_waiting_text)

    async def _answer_or_wait(self, call: Call, turn: int, task: asyncio.Task[Reply], waited: float, filler: str) -> web.Response:
        try:
            reply = await within(task, self.options.turn_deadline_s)
        except InvalidMessage as exc:
            self.turns.forget((call.sid, turn))
            log.warning("voice_invalid", error=str(exc))
            return twiml(self.build.listen(self.options.lost_text, gather_url(turn + 1)))
        if reply is None:
            log.info("voice_turn_slow", turn=turn, waited_s=waited + self.options.turn_deadline_s)
            return twiml(self.build.wait(filler, collect_url(turn, waited + self.options.turn_deadline_s)))
        self.turns.forget((call.sid, turn))
        return twiml(self._respond(reply, turn))

    def _respond(self, reply: Reply, turn: int) -> VoiceResponse:
        if reply.escalated or reply.state in HUMAN_STATES:
            log.info("call_transfer", turn=turn, state=reply.state.value)
            return self.build.transfer()
        return self.build.listen(reply.text or self.options.reprompt_text, gather_url(turn + 1))

    # -- after a transfer or a relay session ----------------------------------------------

    async def transfer_done(self, request: web.Request, call: Call) -> web.Response:
        # <Dial> reports DialCallStatus, <Enqueue> QueueResult.
        outcome = call.params.get("DialCallStatus") or call.params.get("QueueResult") or ""
        log.info("call_transfer_done", outcome=outcome)
        if outcome in ("completed", "answered", "bridged", "hangup"):
            return twiml(self.build.goodbye(None))
        return twiml(self.build.goodbye(self.options.unavailable_text))

    async def relay_done(self, request: web.Request, call: Call) -> web.Response:
        status = call.params.get("SessionStatus", "")
        try:
            handoff = json.loads(call.params.get("HandoffData") or "{}")
        except ValueError:
            handoff = {}
        reason = handoff.get("reason") if isinstance(handoff, dict) else None
        log.info("relay_done", status=status, reason=reason)
        if reason == "transfer":
            return twiml(self.build.transfer(announce=False))  # the relay already said so
        if reason == "hangup" or status in ("completed", "ended"):
            return twiml(self.build.goodbye(None))
        # The streaming session failed: carry on with the webhook loop rather than drop the caller.
        return twiml(self.build.listen(self.options.lost_text, gather_url(1)))

    async def status(self, request: web.Request, call: Call) -> web.Response:
        status = call.params.get("CallStatus", "")
        if status in FINAL_STATUSES:
            duration = call.params.get("CallDuration")
            note = f"Call ended ({status}" + (f", {duration} s)." if duration else ").")
            state = await self.sessions.end_conversation(CHANNEL, call.sid, note)
            self.turns.forget_where(lambda key: isinstance(key, tuple) and key[0] == call.sid)
            if state is None:  # the call is known (checked above): this callback is a retry
                log.info("call_end_repeated", status=status)
            else:
                log.info("call_ended", status=status, state=state.value)
        return empty()

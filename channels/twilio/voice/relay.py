"""GET /twilio/relay: a ConversationRelay session, the streaming alternative to the webhook loop.

Twilio does the speech recognition and synthesis; over this WebSocket it sends the caller's words
(`prompt`), key presses (`dtmf`) and barge-ins (`interrupt`), and speaks the `text` tokens sent
back as they arrive. An answer is spoken as the model writes it: the manager publishes it a
sentence at a time, already rendered for speech, and the session forwards those as tokens; an
interruption stops the rest of it. Pressing 0 or any escalation ends the session with handoff data, and the <Connect> action
(/twilio/voice/relay-done) transfers the call. A session is only for a call the voice webhook
greeted: `setup` for any other is refused with an `end` and a close (4400/4404), and nothing is stored.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import weakref
from dataclasses import dataclass, field
from typing import Any

import structlog
from aiohttp import WSMsgType, web

from agent.contracts import (
    ESCALATE_METADATA,
    ChannelSessions,
    ConversationService,
    EventStream,
    InboundMessage,
    InvalidMessage,
    Reply,
)
from agent.tasks import BackgroundTasks
from channels.http import parse_json
from channels.twilio.signature import TwilioSignature
from channels.twilio.voice.inbound import CHANNEL
from channels.twilio.voice.outbound import VoiceOptions
from channels.twilio.voice.routes import HUMAN_STATES, PRESSED

log = structlog.get_logger(__name__)
PATH = "/twilio/relay"
TOKEN = re.compile(r"\S+\s*")


def message_id(session_id: str, prompt: int) -> str:
    """A relay turn's message id. Its own prefix keeps it apart from the webhook loop's `{CallSid}:{turn}`:
    the loop a failed session falls back to starts again at turn 1, which must not look like a repeat."""
    return f"relay:{session_id}:{prompt}"


def tokens(text: str) -> list[str]:
    """Words with their trailing space: what the caller hears is the tokens joined."""
    return TOKEN.findall(text)


@dataclass
class Streamed:
    """What of one turn's answer was spoken while it was written."""

    parts: list[str] = field(default_factory=list)
    broken: bool = False  # a model broke off and another started over

    def unspoken(self, text: str) -> str:
        """What of the stored answer the caller has not heard yet."""
        heard = tokens("".join(self.parts))
        if not heard:
            return text
        words = tokens(text)
        if not self.broken and [w.strip() for w in words[: len(heard)]] == [w.strip() for w in heard]:
            return "".join(words[len(heard) :])
        # Another model answered after the first broke off, or the answer was trimmed: say it whole.
        return text


class RelaySession:
    def __init__(self, socket: web.WebSocketResponse, service: ConversationService, sessions: ChannelSessions, options: VoiceOptions) -> None:
        self.socket = socket
        self.service = service
        self.sessions = sessions
        self.options = options
        self.call_sid: str | None = None
        self.session_id = ""
        self.caller = "unknown"
        self.prompts = 0
        self.partial = ""
        self.digits = ""
        # Bumped by every new prompt or interruption: an answer being spoken stops when it changes.
        self.generation = 0
        self.turns = BackgroundTasks("relay_turns")
        self.ended = False
        # Unfinished turns in the order they run (the manager runs a call's turns one at a time,
        # so the oldest is the one writing), each with what of its answer was spoken so far.
        self.writing: dict[int, Streamed] = {}
        self.events: EventStream | None = None
        self.listening = BackgroundTasks("relay_listener")

    async def run(self) -> None:
        try:
            async for message in self.socket:
                if message.type != WSMsgType.TEXT:
                    continue
                try:
                    data = parse_json(message.data)
                except ValueError:  # not JSON, or nested too deep for the parser
                    log.warning("relay_bad_json")
                    continue
                if isinstance(data, dict):
                    await self.on_message(data)
        finally:
            # Turns already started finish and are stored; only their speaking stops.
            self.generation += 1
            await self.turns.wait(self.options.max_wait_s)
            await self.listening.close()
            if self.events is not None:
                await self.events.aclose()

    async def on_message(self, data: dict[str, Any]) -> None:
        kind = data.get("type")
        if kind == "setup":
            await self._setup(data)
        elif self.call_sid is None:
            log.warning("relay_before_setup", type=kind)
        elif kind == "prompt":
            self._prompt(data)
        elif kind == "interrupt":
            self.generation += 1
            log.info("relay_interrupted", heard=data.get("utteranceUntilInterrupt"), call_sid=self.call_sid)
        elif kind == "dtmf":
            self._dtmf(str(data.get("digit", "")))
        elif kind == "error":
            log.warning("relay_error", description=data.get("description"), call_sid=self.call_sid)
        else:
            log.info("relay_message_ignored", type=kind)

    async def _setup(self, data: dict[str, Any]) -> None:
        if self.call_sid is not None:
            # A session belongs to the call it was set up for; another setup must not move it.
            log.warning("relay_setup_repeated", call_sid=self.call_sid, other=data.get("callSid"))
            return
        call_sid = str(data.get("callSid") or "")
        if not call_sid:
            log.warning("relay_setup_without_call")
            await self._refuse(4400, "setup without callSid")
            return
        # Only a call the voice webhook greeted (and so opened a conversation for) gets a session.
        conversation_id = await self.sessions.find_conversation(CHANNEL, call_sid)
        if conversation_id is None:
            log.warning("relay_unknown_call", call_sid=call_sid)
            await self._refuse(4404, "unknown call")
            return
        self.call_sid, self.session_id = call_sid, str(data.get("sessionId") or call_sid)
        self.caller = str(data.get("from") or "unknown")
        # Subscribed before the first prompt, so no sentence of an answer is missed.
        self.events = self.service.events(conversation_id)
        self.listening.spawn(self._listen(self.events), "relay_listener")
        log.info("relay_started", call_sid=call_sid, session_id=self.session_id)

    async def _listen(self, events: EventStream) -> None:
        """Speak an answer's sentences as they are written, unless the caller has moved on since its turn began."""
        try:
            async for event in events:
                if not self.writing or event.type not in ("delta", "delta_reset"):
                    continue
                generation = next(iter(self.writing))
                streamed = self.writing[generation]
                if event.type == "delta_reset":
                    # The model broke off and the next one starts over: what was said is said.
                    streamed.broken = True
                    continue
                text = str(event.data.get("text") or "")
                if text.strip() and not streamed.broken and generation == self.generation:
                    streamed.parts.append(text)
                    await self._speak_partial(text, generation)
        except Exception:  # noqa: BLE001 - a lost live stream only means the answer comes whole
            log.warning("relay_stream_lost", call_sid=self.call_sid, exc_info=True)

    def _prompt(self, data: dict[str, Any]) -> None:
        self.partial += str(data.get("voicePrompt") or "")
        if data.get("last") is False:
            return  # partial prompts: wait for the end of the utterance
        text, self.partial = self.partial.strip(), ""
        if text:
            self._start(text)

    def _dtmf(self, digit: str) -> None:
        if digit == self.options.transfer_digit and not self.digits:
            words = PRESSED.format(digit=digit)
            self._start(f"({words})", escalate=words)
        elif digit == "#":
            text, self.digits = self.digits, ""
            if text:
                self._start(text)
        elif digit:
            self.digits += digit

    def _start(self, text: str, escalate: str | None = None) -> None:
        self.prompts += 1
        self.generation += 1
        inbound = InboundMessage(
            channel=CHANNEL,
            channel_user_id=self.caller,
            conversation_key=self.call_sid or "",
            text=text,
            provider_message_id=message_id(self.session_id, self.prompts),
            metadata={ESCALATE_METADATA: escalate} if escalate else {},
        )
        self.writing[self.generation] = Streamed()
        self.turns.spawn(self._turn(inbound, self.generation), "relay_turn")

    async def _turn(self, inbound: InboundMessage, generation: int) -> None:
        with structlog.contextvars.bound_contextvars(call_sid=self.call_sid, message_id=inbound.provider_message_id):
            turn = asyncio.ensure_future(self.service.handle(inbound))
            try:
                done, _ = await asyncio.wait({turn}, timeout=self.options.turn_deadline_s)
                if not done and generation == self.generation and not self.writing[generation].parts:
                    await self._speak(self.options.filler_text, generation)
                reply = await turn
            except InvalidMessage as exc:
                log.warning("relay_invalid", error=str(exc))
                return
            except Exception:
                log.exception("relay_turn_failed")
                await self._speak(self.options.unavailable_text, generation)
                await self._end("hangup")
                return
            finally:
                streamed = self.writing.pop(generation, Streamed())
            await self._deliver(reply, generation, streamed)

    async def _deliver(self, reply: Reply, generation: int, streamed: "Streamed") -> None:
        if reply.escalated or reply.state in HUMAN_STATES:
            await self._speak(self.options.transfer_text, generation, force=True)
            await self._end("transfer", reply.conversation_id)
        elif reply.text:
            # An empty last token ends an answer whose words were all streamed already.
            await self._speak(streamed.unspoken(reply.text), generation, end_empty=bool(streamed.parts))

    async def _speak_partial(self, text: str, generation: int) -> None:
        """Tokens of an answer still being written: never the last one (the stored reply ends it)."""
        for word in tokens(text):
            if generation != self.generation:
                return
            await self._send({"type": "text", "token": word, "last": False})

    async def _speak(self, text: str, generation: int, force: bool = False, end_empty: bool = False) -> None:
        """Send `text` token by token; stop if the caller interrupts or says something new."""
        words = tokens(text) or ([""] if end_empty else [])
        for i, word in enumerate(words):
            if not force and generation != self.generation:
                log.info("relay_answer_cut", sent=i, of=len(words))
                return
            await self._send({"type": "text", "token": word, "last": i == len(words) - 1})
            await asyncio.sleep(0)  # let an interruption in between tokens

    async def _end(self, reason: str, conversation_id: str | None = None) -> None:
        if self.ended:
            return
        self.ended = True
        handoff = {"reason": reason, "conversation_id": conversation_id}
        await self._send({"type": "end", "handoffData": json.dumps(handoff)})

    async def _refuse(self, code: int, reason: str) -> None:
        """End the session before it starts: `end` hands the call back to the <Connect> action, the close says why."""
        self.ended = True
        await self._send({"type": "end", "handoffData": json.dumps({"reason": "refused", "error": reason})})
        await self.socket.close(code=code, message=reason.encode())

    async def _send(self, message: dict[str, Any]) -> None:
        if not self.socket.closed:
            with contextlib.suppress(ConnectionError, RuntimeError):
                await self.socket.send_json(message)


class RelayEndpoint:
    def __init__(
        self, service: ConversationService, sessions: ChannelSessions, signature: TwilioSignature, options: VoiceOptions
    ) -> None:
        self.service = service
        self.sessions = sessions
        self.signature = signature
        self.options = options
        self._sockets: weakref.WeakSet[web.WebSocketResponse] = weakref.WeakSet()

    def routes(self) -> list[web.AbstractRouteDef]:
        # With relay off no call is connected to a socket, so none is listened for (404).
        return [web.get(PATH, self.serve)] if self.options.relay_url else []

    async def serve(self, request: web.Request) -> web.StreamResponse:
        # Twilio signs the wss:// URL the TwiML gave it, which may name another host than the public URL.
        if not self.signature.check(request, {}, url=self.options.relay_url):
            log.warning("twilio_signature_invalid", path=request.path)
            return web.Response(status=403, text="invalid signature")
        socket = web.WebSocketResponse(heartbeat=30)
        await socket.prepare(request)
        self._sockets.add(socket)
        await RelaySession(socket, self.service, self.sessions, self.options).run()
        return socket

    async def close_sockets(self, _app: web.Application) -> None:
        for socket in list(self._sockets):
            await socket.close(code=1001, message=b"server shutting down")

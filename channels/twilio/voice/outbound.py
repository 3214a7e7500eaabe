"""Voice TwiML: what the call does next (speak and listen, wait, transfer, hang up, stream)."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlencode

from twilio.twiml.voice_response import Gather, VoiceResponse

BASE = "/twilio/voice"


@dataclass(frozen=True, slots=True)
class VoiceOptions:
    greeting: str
    language: str = "en-US"
    voice: str | None = None  # a <Say> voice, e.g. Polly.Joanna-Neural
    speech_timeout: str = "auto"
    speech_model: str | None = None
    hints: tuple[str, ...] = ()
    input_timeout_s: int = 5
    num_digits: int | None = 1
    transfer_digit: str = "0"
    reprompts: int = 2
    turn_deadline_s: float = 8.0
    max_wait_s: float = 45.0
    reprompt_text: str = "Are you still there? Tell me what you need, or press 0 to talk to a person."
    goodbye_text: str = "I didn't hear anything, so I'll end the call now. Thanks for calling. Goodbye."
    filler_text: str = "One moment while I check that."
    still_waiting_text: str = "Still checking, thanks for waiting."
    lost_text: str = "Sorry, I lost track of that. Could you say it again?"
    transfer_text: str = "Connecting you to a member of our team now. Please hold."
    callback_text: str = (
        "I've passed this to our team, and someone will call you back at this number. Thanks for calling. Goodbye."
    )
    unavailable_text: str = (
        "Sorry, nobody could take your call just now. Someone from our team will call you back. Goodbye."
    )
    transfer_number: str | None = None
    transfer_queue: str | None = None
    transfer_timeout_s: int = 30
    relay_url: str | None = None  # wss://…/twilio/relay: stream the call through ConversationRelay
    relay_voice: str | None = None
    relay_tts_provider: str | None = None
    relay_options: dict[str, str] = field(default_factory=dict)


def gather_url(turn: int, silence: int = 0) -> str:
    return f"{BASE}/gather?" + urlencode({"turn": turn, "silence": silence})


def collect_url(turn: int, waited: float) -> str:
    return f"{BASE}/collect?" + urlencode({"turn": turn, "waited": round(waited, 1)})


TRANSFER_DONE = f"{BASE}/transfer-done"
RELAY_DONE = f"{BASE}/relay-done"


class VoiceTwiml:
    def __init__(self, options: VoiceOptions) -> None:
        self.options = options

    def _say(self, node: VoiceResponse | Gather, text: str) -> None:
        extra = {"voice": self.options.voice} if self.options.voice else {}
        node.say(text, language=self.options.language, **extra)

    def listen(self, prompt: str | None, action: str) -> VoiceResponse:
        """Say `prompt` (interruptible) and listen for speech or keys; silence posts to `action` too."""
        o = self.options
        response = VoiceResponse()
        extra: dict[str, object] = {}
        if o.hints:
            extra["hints"] = ",".join(o.hints)
        if o.speech_model:
            extra["speech_model"] = o.speech_model
        if o.num_digits:
            extra["num_digits"] = o.num_digits
        gather = response.gather(
            input="speech dtmf",
            action=action,
            method="POST",
            action_on_empty_result=True,
            language=o.language,
            speech_timeout=o.speech_timeout,
            timeout=o.input_timeout_s,
            **extra,
        )
        if prompt:
            self._say(gather, prompt)
        return response

    def wait(self, text: str | None, redirect: str) -> VoiceResponse:
        """A short filler, then come back (a new request, so no single one nears Twilio's limit)."""
        response = VoiceResponse()
        if text:
            self._say(response, text)
        response.redirect(redirect, method="POST")
        return response

    def goodbye(self, text: str | None) -> VoiceResponse:
        response = VoiceResponse()
        if text:
            self._say(response, text)
        response.hangup()
        return response

    @property
    def can_transfer(self) -> bool:
        return bool(self.options.transfer_number or self.options.transfer_queue)

    def transfer(self, announce: bool = True) -> VoiceResponse:
        """Hand the caller to a person: dial the staff number or join the queue; else promise a call back."""
        o = self.options
        if not self.can_transfer:
            return self.goodbye(o.callback_text)
        response = VoiceResponse()
        if announce:
            self._say(response, o.transfer_text)
        if o.transfer_number:
            dial = response.dial(action=TRANSFER_DONE, method="POST", timeout=o.transfer_timeout_s)
            dial.number(o.transfer_number)
        else:
            response.enqueue(o.transfer_queue, action=TRANSFER_DONE, method="POST")
        return response

    def relay(self, greeting: str) -> VoiceResponse:
        o = self.options
        response = VoiceResponse()
        connect = response.connect(action=RELAY_DONE, method="POST")
        extra: dict[str, object] = dict(o.relay_options)
        if o.relay_voice:
            extra["voice"] = o.relay_voice
        if o.relay_tts_provider:
            extra["tts_provider"] = o.relay_tts_provider
        if o.hints:
            extra["hints"] = ",".join(o.hints)
        connect.conversation_relay(
            url=o.relay_url,
            welcome_greeting=greeting,
            language=o.language,
            interruptible="any",
            dtmf_detection=True,
            **extra,
        )
        return response

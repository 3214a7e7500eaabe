"""Voice inbound: Twilio's call parameters, and a caller's words or keys as an InboundMessage."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from agent.contracts import ESCALATE_METADATA, ChannelTraits, InboundMessage

CHANNEL = "voice"
# Spoken as it is written; a call cannot be reached once it is over.
TRAITS = ChannelTraits(CHANNEL, style="voice", streams=True, pushable=False)
CALL_SID = re.compile(r"^CA[0-9a-fA-F]{32}$")
FINAL_STATUSES = frozenset({"completed", "busy", "failed", "no-answer", "canceled"})


class BadCall(ValueError):
    """A webhook without a usable CallSid (or another required parameter)."""


@dataclass(frozen=True, slots=True)
class Call:
    sid: str
    caller: str
    params: Mapping[str, str]


def parse_call(params: Mapping[str, str]) -> Call:
    sid = params.get("CallSid", "").strip()
    if not sid:
        raise BadCall("missing parameter CallSid")
    if not CALL_SID.match(sid):
        raise BadCall("CallSid is not a Twilio call id")
    # Anonymous callers and browser clients have no E.164 number; any caller id will do.
    return Call(sid, params.get("From", "").strip() or "unknown", params)


def query_int(query: Mapping[str, str], name: str, default: int = 0) -> int:
    try:
        value = int(query.get(name, default))
    except ValueError:
        raise BadCall(f"{name} must be an integer") from None
    if value < 0:
        raise BadCall(f"{name} must not be negative")
    return value


def query_float(query: Mapping[str, str], name: str) -> float:
    try:
        value = float(query.get(name, 0))
    except ValueError:
        raise BadCall(f"{name} must be a number") from None
    if value < 0:
        raise BadCall(f"{name} must not be negative")
    return value


def said(call: Call) -> tuple[str, str]:
    """(speech, digits) the caller gave a <Gather>; both empty on silence."""
    return call.params.get("SpeechResult", "").strip(), call.params.get("Digits", "").strip()


def to_inbound(call: Call, text: str, message_id: str, escalate: str | None = None) -> InboundMessage:
    metadata: dict[str, object] = {}
    if escalate:
        metadata[ESCALATE_METADATA] = escalate
    confidence = call.params.get("Confidence")
    if confidence:
        metadata["speech_confidence"] = confidence
    return InboundMessage(
        channel=CHANNEL,
        channel_user_id=call.caller,
        conversation_key=call.sid,
        text=text,
        provider_message_id=message_id,
        metadata=metadata,
    )

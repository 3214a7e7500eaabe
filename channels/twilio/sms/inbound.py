"""SMS inbound: Twilio's webhook parameters as an InboundMessage, or a clear refusal."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from agent.contracts import ChannelTraits, InboundMessage

CHANNEL = "sms"
# An answer ready within 5 s goes back in the webhook's TwiML, well inside Twilio's 15 s; the
# deployment may change the wait (`twilio.sms.inline_deadline_s`).
TRAITS = ChannelTraits(CHANNEL, style="sms", inline_answer_s=5.0)
E164 = re.compile(r"^\+[1-9]\d{1,14}$")
SHORT_CODE = re.compile(r"^\d{5,6}$")  # as Twilio posts one in To: bare digits, no "+"
SID = re.compile(r"^[A-Z]{2}[0-9a-fA-F]{32}$")  # SM… for SMS, MM… for MMS


class BadSms(ValueError):
    """The webhook is missing something or malformed; the message says which parameter."""


@dataclass(frozen=True, slots=True)
class Sms:
    message_sid: str
    sender: str  # the customer's number
    recipient: str  # our number or short code
    body: str
    media_urls: tuple[str, ...] = ()

    @property
    def conversation_key(self) -> str:
        return conversation_key(self.recipient, self.sender)


def conversation_key(ours: str, customer: str) -> str:
    """One conversation per (our number, customer number) pair."""
    return f"{ours}|{customer}"


def numbers_of(key: str) -> tuple[str, str]:
    """(our number, customer number) from a conversation key."""
    ours, _, customer = key.partition("|")
    return ours, customer


def _required(params: Mapping[str, str], name: str) -> str:
    value = params.get(name, "").strip()
    if not value:
        raise BadSms(f"missing parameter {name}")
    return value


def parse_sms(params: Mapping[str, str]) -> Sms:
    sid = _required(params, "MessageSid")
    if not SID.match(sid):
        raise BadSms("MessageSid is not a Twilio message id")
    sender, recipient = _required(params, "From"), _required(params, "To")
    if not E164.match(sender):
        raise BadSms("From is not an E.164 phone number")
    # Ours may be a short code as well as a phone number; replies go out from whichever it was.
    if not (E164.match(recipient) or SHORT_CODE.match(recipient)):
        raise BadSms("To is neither an E.164 phone number nor a short code")
    if "Body" not in params:
        raise BadSms("missing parameter Body")
    try:
        count = int(params.get("NumMedia", "0") or 0)
    except ValueError:
        raise BadSms("NumMedia is not a number") from None
    media = tuple(params[f"MediaUrl{i}"] for i in range(min(count, 10)) if params.get(f"MediaUrl{i}"))
    return Sms(sid, sender, recipient, params["Body"], media)


def to_inbound(sms: Sms) -> InboundMessage:
    text = sms.body.strip()
    if not text and sms.media_urls:
        # A picture with no words is still the customer saying something a person may need to see.
        text = f"[{len(sms.media_urls)} attachment{'s' if len(sms.media_urls) != 1 else ''}]"
    return InboundMessage(
        channel=CHANNEL,
        channel_user_id=sms.sender,
        conversation_key=sms.conversation_key,
        text=text,
        provider_message_id=sms.message_sid,
        metadata={"to": sms.recipient, "media_urls": list(sms.media_urls)} if sms.media_urls else {"to": sms.recipient},
    )

"""SMS outbound: stored messages sent through Twilio's Messages REST API, and inline TwiML.

Twilio's errors map onto the outbox's retry rules: 429 waits for Retry-After, 5xx and network
errors are retried with backoff, an unsubscribed (21610) or invalid (21211…) number fails for
good, and 21610 is also recorded as an opt-out. Nothing is sent to an opted-out number.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp
import structlog
from twilio.twiml.messaging_response import MessagingResponse

from agent.contracts import DeliveryError, OptOutRegistry, OutboundMessage
from channels.twilio.sms.inbound import CHANNEL, numbers_of
from channels.twilio.sms.segments import split_message

log = structlog.get_logger(__name__)

UNSUBSCRIBED = 21610
# The recipient or sender can never work for this message: retrying will not help.
PERMANENT_CODES = {
    21211: "invalid 'To' phone number",
    21212: "invalid 'From' phone number",
    21408: "no permission to send to this region",
    21606: "the 'From' number cannot send to this number",
    21610: "the recipient has unsubscribed (replied STOP)",
    21612: "the message cannot be routed to this number",
    21614: "the 'To' number is not a mobile number",
    21617: "the message body is too long",
}


@dataclass(frozen=True, slots=True)
class SmsSender:
    """Where REST sends come from: a Messaging Service, a fixed number, or the number the customer wrote to."""

    account_sid: str
    auth_token: str
    api_base_url: str = "https://api.twilio.com"
    from_number: str | None = None
    messaging_service_sid: str | None = None
    segment_budget: int = 3
    timeout_s: float = 10.0
    status_callback: str | None = None


class TwilioApiError(DeliveryError):
    """Twilio refused the request; `code` is its error code (https://www.twilio.com/docs/api/errors)."""

    def __init__(self, reason: str, code: int | None, *, retry_after: float | None = None, permanent: bool = False) -> None:
        super().__init__(reason, retry_after=retry_after, permanent=permanent)
        self.code = code


def to_twiml(parts: Sequence[str]) -> MessagingResponse:
    response = MessagingResponse()
    for part in parts:
        response.message(part)
    return response


def _retry_after(headers: Any) -> float | None:
    try:
        return max(0.0, float(headers.get("Retry-After", "")))
    except ValueError:
        return None


class SmsOutbound:
    """The outbox's sender for SMS (an OutboundChannel)."""

    name = CHANNEL

    def __init__(self, sender: SmsSender, optouts: OptOutRegistry) -> None:
        self.sender = sender
        self.optouts = optouts
        self._session: aiohttp.ClientSession | None = None
        # Parts of a split message already accepted, by outbox row: a retry sends only the rest.
        self._sent_parts: dict[int, list[str]] = {}

    @property
    def url(self) -> str:
        return f"{self.sender.api_base_url.rstrip('/')}/2010-04-01/Accounts/{self.sender.account_sid}/Messages.json"

    def parts(self, text: str) -> list[str]:
        return split_message(text, self.sender.segment_budget)

    async def send(self, message: OutboundMessage) -> str | None:
        ours, customer = numbers_of(message.conversation_key)
        customer = customer or message.channel_user_id
        if await self.optouts.is_opted_out(customer):
            raise DeliveryError(f"not sent: {customer} has opted out of SMS (replied STOP)", permanent=True)
        parts = self.parts(message.message.text)
        done = self._sent_parts.setdefault(message.outbox_id, [])
        try:
            for part in parts[len(done):]:
                done.append(await self._post(self._form(customer, ours, part)))
        except DeliveryError as error:
            if error.permanent:
                self._sent_parts.pop(message.outbox_id, None)
                if isinstance(error, TwilioApiError) and error.code == UNSUBSCRIBED:
                    await self.optouts.record(customer, "opt_out", str(UNSUBSCRIBED), None)
            raise
        self._sent_parts.pop(message.outbox_id, None)
        return ",".join(done)[:255] or None

    def _form(self, customer: str, ours: str, body: str) -> dict[str, str]:
        form = {"To": customer, "Body": body}
        if self.sender.messaging_service_sid:
            form["MessagingServiceSid"] = self.sender.messaging_service_sid
        else:
            form["From"] = self.sender.from_number or ours
        if self.sender.status_callback:
            form["StatusCallback"] = self.sender.status_callback
        return form

    async def _post(self, form: dict[str, str]) -> str:
        session = self._client()
        try:
            async with session.post(self.url, data=form) as response:
                try:
                    body = await response.json(content_type=None)
                except ValueError:
                    body = None
                if response.status in (200, 201) and isinstance(body, dict) and body.get("sid"):
                    return str(body["sid"])
                raise self._error(response.status, body if isinstance(body, dict) else {}, response.headers)
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            raise DeliveryError(f"Twilio unreachable: {type(exc).__name__}: {exc}") from exc

    def _error(self, status: int, body: dict[str, Any], headers: Any) -> TwilioApiError:
        code = body.get("code") if isinstance(body.get("code"), int) else None
        detail = body.get("message") or f"HTTP {status}"
        reason = f"Twilio {status} ({code}): {detail}" if code else f"Twilio {status}: {detail}"
        if status == 429 or status >= 500 or status in (401, 403, 408):
            # Rate limits, outages, and credentials an operator can fix: worth retrying.
            return TwilioApiError(reason, code, retry_after=_retry_after(headers))
        if code in PERMANENT_CODES:
            return TwilioApiError(f"{reason} - {PERMANENT_CODES[code]}", code, permanent=True)
        return TwilioApiError(reason, code, permanent=True)  # any other 4xx: the same request fails again

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                headers={"Authorization": aiohttp.encode_basic_auth(self.sender.account_sid, self.sender.auth_token)},
                timeout=aiohttp.ClientTimeout(total=self.sender.timeout_s),
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

"""Web chat inbound: turning an HTTP request into an InboundMessage, or a clear 4xx."""

from __future__ import annotations

import re

from aiohttp import web

from agent.contracts import ChannelTraits, InboundMessage, InvalidMessage
from agent.text import TOO_LONG, checked_text, clean
from channels.http import ApiError, parse_json
from channels.webchat.tokens import TokenSigner

CHANNEL = "web"
TRAITS = ChannelTraits(CHANNEL, style="web", streams=True)
MAX_CLIENT_ID = 100
MAX_AFTER = 2**63 - 1  # the largest id any store's integer column could hold
_DIGITS = re.compile(r"[0-9]{1,19}")


def bearer_token(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    # Browsers cannot set headers on a WebSocket handshake.
    return request.query.get("token")


def authorize(request: web.Request, signer: TokenSigner) -> str:
    """The conversation id in the path, if the request's token is the one issued for it."""
    conversation_id = request.match_info["conversation_id"]
    if not signer.verify(conversation_id, bearer_token(request)):
        raise ApiError(401, "unauthorized", "A valid token for this conversation is required.")
    return conversation_id


async def parse_message(request: web.Request, conversation_id: str, max_chars: int) -> InboundMessage:
    try:
        body = parse_json(await request.text())
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "invalid_json", "The request body must be JSON.") from None
    if not isinstance(body, dict) or not isinstance(body.get("text"), str):
        raise ApiError(400, "invalid_text", 'The body must be an object with a "text" string.')
    # A lone surrogate becomes U+FFFD and a NUL goes: the message is kept, and storable.
    try:
        text = checked_text(body["text"], max_chars)
    except InvalidMessage as exc:
        if exc.reason == TOO_LONG:
            raise ApiError(413, "text_too_long", f"The message is longer than {max_chars} characters.") from None
        raise ApiError(400, "empty_text", "The message is empty.") from None
    client_id = body.get("client_message_id")
    if client_id is not None and not valid_client_id(client_id):
        raise ApiError(
            400, "invalid_client_message_id", f"client_message_id must be 1 to {MAX_CLIENT_ID} characters, without NUL or lone surrogates."
        )
    return InboundMessage(
        channel=CHANNEL,
        channel_user_id=conversation_id,
        conversation_key=conversation_id,
        conversation_id=conversation_id,
        text=text,
        provider_message_id=client_id,
    )


def valid_client_id(value: object) -> bool:
    # A dedupe key must match exactly: one no database can store is refused, not altered.
    return isinstance(value, str) and 0 < len(value) <= MAX_CLIENT_ID and clean(value) == value


def parse_after(request: web.Request) -> int | None:
    raw = request.query.get("after")
    if raw is None or raw == "":
        return None
    # ASCII digits only: int() would also take "-1", " 1", "1_0" and other scripts' digits.
    if not _DIGITS.fullmatch(raw) or int(raw) > MAX_AFTER:
        raise ApiError(400, "invalid_after", f"after must be a message id, an integer from 0 to {MAX_AFTER}.")
    return int(raw)

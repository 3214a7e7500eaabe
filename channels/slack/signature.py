"""Slack's request signature, checked over the raw body before anything reads what it says.

slack_sdk's SignatureVerifier does the check (HMAC over `v0:<timestamp>:<body>`, and a
timestamp within five minutes). Around it, what it would raise on instead of refusing: a
timestamp that is not a plain number, and a body that is not UTF-8 (Slack signs text, so such
a body cannot be Slack's). Only a verified body is parsed, with bolt's own parser.
"""

from __future__ import annotations

from typing import Any

from slack_bolt.request.internals import parse_body
from slack_sdk.signature import SignatureVerifier


class Refused(Exception):
    """A request that is not taken: the HTTP status, an error code and a message to answer with."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def unsigned() -> Refused:
    return Refused(401, "invalid_signature", "The request is not signed by Slack, or its timestamp is too old.")


def verified_text(verifier: SignatureVerifier, body: bytes, timestamp: str | None, signature: str | None) -> str:
    """The body as text, if Slack signed it (within five minutes); raises Refused (401) otherwise."""
    if not timestamp or not signature or not (timestamp.isascii() and timestamp.isdigit()):
        raise unsigned()
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise unsigned() from None
    if not verifier.is_valid(text, timestamp, signature):
        raise unsigned()
    return text


def parse_payload(text: str, content_type: str | None) -> dict[str, Any]:
    """A verified body as the JSON object it must be (form bodies carry it in `payload`); Refused (400) if not."""
    try:
        payload = parse_body(text, content_type)
    except (ValueError, RecursionError):  # JSONDecodeError is a ValueError; deep nesting a RecursionError
        payload = None
    # Bolt reads `event` as an object before any listener could refuse it.
    if not isinstance(payload, dict) or not isinstance(payload.get("event", {}), dict):
        raise Refused(400, "invalid_body", "The request body is not a Slack payload.")
    return payload

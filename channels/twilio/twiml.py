"""TwiML responses and the error replies every Twilio webhook shares."""

from __future__ import annotations

from twilio.twiml import TwiML
from aiohttp import web

XML = "text/xml"


def twiml(document: TwiML | str, status: int = 200) -> web.Response:
    body = document if isinstance(document, str) else document.to_xml()
    return web.Response(text=body, status=status, content_type=XML, charset="utf-8")


def empty(status: int = 200) -> web.Response:
    """A valid TwiML document that does nothing."""
    return twiml('<?xml version="1.0" encoding="UTF-8"?><Response />', status)


def forbidden() -> web.Response:
    """A request without Twilio's valid signature: refused, nothing read or stored."""
    return empty(403)

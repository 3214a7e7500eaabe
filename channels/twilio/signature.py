"""Twilio's request signature (X-Twilio-Signature), checked on every webhook and WebSocket.

Twilio signs the URL it requested plus the POST parameters. Behind a TLS-terminating proxy the
URL this server sees (http://10.0.0.5:8080/...) is not the one Twilio signed
(https://switchboard.example.com/...), so with a public base URL configured the URL is rebuilt
from it and the request's path and query.
"""

from __future__ import annotations

from collections.abc import Mapping

from aiohttp import hdrs, web
from twilio.request_validator import (
    SIGNATURE_HEADER,
    SIGNATURE_SETTINGS_HEADER,
    RequestValidator,
    get_signature_algorithm,
)


class TwilioSignature:
    def __init__(self, auth_token: str, public_url: str | None = None) -> None:
        self._validator = RequestValidator(auth_token)
        self.public_url = public_url.rstrip("/") if public_url else None

    def url_of(self, request: web.Request) -> str:
        """The URL Twilio requested, as it signed it."""
        websocket = request.headers.get(hdrs.UPGRADE, "").lower() == "websocket"
        if self.public_url is None:
            url = str(request.url)
        else:
            url = self.public_url + request.path_qs
        if websocket:  # a WebSocket's URL is signed with its ws/wss scheme
            url = url.replace("https://", "wss://", 1).replace("http://", "ws://", 1)
        return url

    def public(self, request: web.Request, path: str) -> str:
        """An absolute URL on this server as Twilio reaches it (for TwiML that needs one)."""
        base = self.public_url or f"{request.scheme}://{request.host}"
        return base + path

    def check(self, request: web.Request, params: Mapping[str, str], url: str | None = None) -> bool:
        """Whether Twilio signed this request; `url` is what it called, when known exactly (the relay's)."""
        signature = request.headers.get(SIGNATURE_HEADER)
        if not signature:
            return False
        if url is not None and request.query_string:
            url = f"{url}?{request.query_string}"
        algorithm = get_signature_algorithm(request.headers.get(SIGNATURE_SETTINGS_HEADER))
        return bool(self._validator.validate(url or self.url_of(request), dict(params), signature, algorithm))

    async def form(self, request: web.Request) -> dict[str, str] | None:
        """The request's POST parameters if its signature is valid, else None (nothing else is read)."""
        posted = await request.post()
        params = {key: value for key, value in posted.items() if isinstance(value, str)}
        return params if self.check(request, params) else None

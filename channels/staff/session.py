"""Staff sign-in over HTTP: the session cookie, CSRF checks and request bodies."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from agent.contracts import StaffAuth, StaffSession
from agent.text import clean, is_blank
from channels.http import ApiError, parse_json, same_secret

COOKIE = "switchboard_staff"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def current_session(request: web.Request, auth: StaffAuth) -> tuple[str, StaffSession]:
    """The request's live staff session (and its token), or 401."""
    token = request.cookies.get(COOKIE)
    # Ours are URL-safe ASCII; anything else (undecodable bytes, a NUL) cannot name a session.
    if token is not None and not (token.isascii() and token.isprintable()):
        token = None
    session = await auth.session(token) if token else None
    if token is None or session is None:
        raise ApiError(401, "unauthorized", "Sign in as staff first.")
    return token, session


def check_csrf(request: web.Request, session: StaffSession) -> None:
    """State-changing requests must echo the session's CSRF token, which a foreign page cannot read."""
    if request.method in SAFE_METHODS:
        return
    if not same_secret(request.headers.get(CSRF_HEADER), session.csrf_token):
        raise ApiError(403, "csrf_failed", f"The {CSRF_HEADER} header is missing or wrong.")


def check_same_origin(request: web.Request) -> None:
    """Browsers send cookies on cross-site WebSocket handshakes too; only our own pages may open one."""
    origin = request.headers.get("Origin")
    if origin is not None and urlsplit(origin).netloc != request.host:
        raise ApiError(403, "bad_origin", "This socket only accepts the staff console's own origin.")


async def json_body(request: web.Request) -> dict[str, Any]:
    # Requiring the JSON content type also means a plain cross-site form cannot post here.
    if request.content_type != "application/json":
        raise ApiError(415, "unsupported_media_type", "Send the body as application/json.")
    try:
        body = parse_json(await request.text())
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "invalid_json", "The request body must be JSON.") from None
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_json", "The body must be a JSON object.")
    return body


def text_field(body: dict[str, Any], name: str = "text") -> str:
    """The field's text, storable (see agent.text.clean); invisible-only text counts as empty."""
    value = body.get(name)
    if not isinstance(value, str) or is_blank(value := clean(value)):
        raise ApiError(400, f"invalid_{name}", f'The body needs a non-empty "{name}" string.')
    return value


def set_session_cookie(response: web.StreamResponse, token: str, expires_at: datetime, secure: bool) -> None:
    max_age = max(1, math.ceil((expires_at - datetime.now(expires_at.tzinfo)).total_seconds()))
    response.set_cookie(COOKIE, token, max_age=max_age, path="/", httponly=True, samesite="Lax", secure=secure)


def clear_session_cookie(response: web.StreamResponse) -> None:
    response.del_cookie(COOKIE, path="/")

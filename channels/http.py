"""HTTP plumbing every channel's routes share: one JSON error shape, and no stack traces."""

from __future__ import annotations

import hmac
import json
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from aiohttp import web

from agent.text import clean

log = structlog.get_logger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def json_error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message}}, status=status, headers=headers)


def parse_json(raw: str) -> Any:
    """json.loads, with nesting too deep for the parser (a RecursionError) refused as bad JSON."""
    try:
        return json.loads(raw)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None


def same_secret(sent: str | None, expected: str) -> bool:
    """Constant-time comparison for any value a client sends, even one with non-ASCII or undecodable bytes."""
    if not sent:
        return False
    return hmac.compare_digest(sent.encode("utf-8", "surrogatepass"), expected.encode())


@web.middleware
async def json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Under /api/, every error is JSON and logged in one line; anywhere, an unexpected one is logged, never shown."""
    api = request.path.startswith("/api/")
    try:
        if api and clean(request.path) != request.path:
            # A NUL or a lone surrogate names no resource, and no store could look it up.
            response: web.StreamResponse = json_error(404, "not_found", "Not found.")
        else:
            response = await handler(request)
    except web.HTTPException as exc:
        if not api or exc.status < 400:
            raise
        code = exc.reason.lower().replace(" ", "_")
        response = json_error(exc.status, code, exc.text or exc.reason)
    except Exception:
        log.exception("unhandled_error", path=request.path, method=request.method)
        return json_error(500, "internal_error", "Something went wrong on our side. Please try again.")
    if api and 400 <= response.status < 500:
        log.info(
            "request_refused",
            method=request.method,
            path=clean(request.path)[:200],
            status=response.status,
            code=_error_code(response),
        )
    return response


def _error_code(response: web.StreamResponse) -> str | None:
    """The code of a json_error response (a small body), for the log line."""
    body = getattr(response, "body", None)
    if not isinstance(body, bytes) or response.content_type != "application/json":
        return None
    try:
        return str(json.loads(body)["error"]["code"])
    except (ValueError, KeyError, TypeError):
        return None

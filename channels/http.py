"""HTTP plumbing every channel's routes share: one JSON error shape, and no stack traces."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import structlog
from aiohttp import web

log = structlog.get_logger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def json_error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message}}, status=status, headers=headers)


@web.middleware
async def json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Under /api/, every error is JSON; anywhere, an unexpected one is logged, never shown."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if not request.path.startswith("/api/") or exc.status < 400:
            raise
        code = exc.reason.lower().replace(" ", "_")
        return json_error(exc.status, code, exc.text or exc.reason)
    except Exception:
        log.exception("unhandled_error", path=request.path, method=request.method)
        return json_error(500, "internal_error", "Something went wrong on our side. Please try again.")

"""HTTP plumbing every channel's routes share: one JSON error shape, no stack traces, the
client's address, and the 429 a client gets for going too fast."""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import json
import math
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import structlog
from aiohttp import web

from agent.text import clean

log = structlog.get_logger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Middleware = Callable[[web.Request, Handler], Awaitable[web.StreamResponse]]


def json_error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message}}, status=status, headers=headers)


class ApiError(Exception):
    """A request refused with a status, a code and a message: raised where it is found out,
    answered as `json_error` by the route that catches it."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers

    def response(self) -> web.Response:
        return json_error(self.status, self.code, self.message, self.headers)


def too_many_requests(wait_s: float, code: str, message: str) -> web.Response:
    """429 with the whole seconds to wait, in the body's message and in Retry-After."""
    seconds = max(1, math.ceil(wait_s))
    return json_error(429, code, f"{message} Try again in {seconds} s.", {"Retry-After": str(seconds)})


def client_address(remote: str | None, forwarded_for: str | None, trusted_proxies: Sequence[str]) -> str | None:
    """The address a request came from: behind trusted proxies, the last hop they saw that is not one of them.

    X-Forwarded-For is only believed from a trusted proxy; anything a client wrote into it
    itself sits to the left of what the proxies appended and is never reached.
    """
    networks = [ipaddress.ip_network(p, strict=False) for p in trusted_proxies]

    def trusted(address: str | None) -> bool:
        try:
            return address is not None and any(ipaddress.ip_address(address) in n for n in networks)
        except ValueError:
            return False

    if not trusted(remote) or not forwarded_for:
        return remote
    hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not trusted(hop):
            return hop
    return hops[0] if hops else remote


def request_address(request: web.Request, trusted_proxies: Sequence[str]) -> str:
    """`client_address` of a request, "?" when the transport does not say."""
    return client_address(request.remote, request.headers.get("X-Forwarded-For"), trusted_proxies) or "?"


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


def body_deadline(timeout_s: float) -> Middleware:
    """Read every request body before its handler runs, within `timeout_s`, else answer 408 and
    close the connection: aiohttp itself would wait for a trickling body for ever. Handlers then
    read the body from memory (it is at most the app's client_max_size)."""

    @web.middleware
    async def read_body_in_time(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.body_exists:
            try:
                async with asyncio.timeout(timeout_s):
                    await request.read()
            except TimeoutError:
                log.info("request_body_too_slow", path=request.path, method=request.method, timeout_s=timeout_s)
                response = json_error(408, "request_timeout", f"The request body did not arrive within {timeout_s:g} s.")
                response.force_close()
                await response.prepare(request)
                await response.write_eof()
                # Drop the connection now, rather than keep reading the rest of the trickle.
                request.protocol.force_close()
                return response
        return await handler(request)

    return read_body_in_time

"""The two small HTTP handlers of the composition root: the health check and the models' metrics,
and the metrics token's check that /metrics shares."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from agent.app import keys
from channels.http import json_error, same_secret


def refused(request: web.Request, token: str | None) -> web.Response | None:
    """The error for a request without the metrics token (404 while none is set); None to serve it."""
    if token is None:
        return json_error(404, "metrics_disabled", "Set the metrics token variable (server.metrics_token_env) to serve metrics.")
    sent = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    if not same_secret(sent, token):
        return json_error(401, "unauthorized", "Send the metrics token as 'Authorization: Bearer <token>'.")
    return None


def model_metrics(token: str | None) -> Callable[[web.Request], Awaitable[web.Response]]:
    """Per model: calls, outcomes, latency, tokens, cost, breaker states; per route: cache hits;
    per tool (under "tools"): calls, outcomes, latency, response sizes.

    Served only with a bearer token from the environment: it names models, deployments and spend.
    """

    async def handler(request: web.Request) -> web.Response:
        refusal = refused(request, token)
        if refusal is not None:
            return refusal
        snapshot = request.app[keys.GATEWAY].snapshot()
        tools = request.app.get(keys.TOOLS)
        if tools is not None:
            snapshot["tools"] = tools.metrics.snapshot()
        return web.json_response(snapshot)

    return handler


async def healthz(request: web.Request) -> web.Response:
    await request.app[keys.STORE].ping()
    return web.json_response({"status": "ok"})

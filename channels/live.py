"""Live event sockets: a WebSocket that forwards one event stream, answers pings, and closes
when the server shuts down. Web chat visitors and the staff console both use it, each with its
own rendering of an event as JSON."""

from __future__ import annotations

import weakref
from collections import Counter
from collections.abc import Callable
from typing import Any

import structlog
from aiohttp import WSMsgType, web

from agent.contracts import ConversationEvent, EventStream
from agent.tasks import BackgroundTasks
from channels.http import parse_json

log = structlog.get_logger(__name__)

# The close code of a socket refused for how many are open already: "try again later".
TRY_AGAIN_LATER = 1013


class SocketCap:
    """How many live sockets this process keeps open: from one client address, and in all."""

    def __init__(self, per_address: int = 20, total: int = 2000) -> None:
        self.per_address = per_address
        self.total = total
        self._open: Counter[str] = Counter()
        self._count = 0

    def admit(self, address: str) -> str | None:
        """Take a place for a socket (give it back with `release`): None, or why there is none."""
        if self._count >= self.total:
            return "server busy: too many open sockets"
        if self._open[address] >= self.per_address:
            return "too many open sockets from your address"
        self._open[address] += 1
        self._count += 1
        return None

    def release(self, address: str) -> None:
        self._count -= 1
        self._open[address] -= 1
        if self._open[address] <= 0:
            del self._open[address]


async def refuse_socket(request: web.Request, reason: str) -> web.WebSocketResponse:
    """Complete the handshake only to close with TRY_AGAIN_LATER and `reason`: a browser sees
    a close code and reason, never the status of a refused handshake."""
    socket = web.WebSocketResponse()
    await socket.prepare(request)
    await socket.close(code=TRY_AGAIN_LATER, message=reason.encode())
    return socket


# A channel's JSON for one live event.
EventJson = Callable[[ConversationEvent], dict[str, Any]]


class EventSockets:
    def __init__(self, render: EventJson) -> None:
        self.render = render
        self._sockets: weakref.WeakSet[web.WebSocketResponse] = weakref.WeakSet()

    async def serve(
        self, request: web.Request, events: EventStream, socket: web.WebSocketResponse | None = None
    ) -> web.WebSocketResponse:
        """Forward `events` until the client leaves. `events` must be subscribed already, before
        the handshake, so that nothing published in between is missed. Pass `socket` to keep a
        handle that can close it from outside."""
        socket = socket or web.WebSocketResponse(heartbeat=30)
        try:
            await socket.prepare(request)
            self._sockets.add(socket)
            forwarding = BackgroundTasks("live_socket")
            forwarding.spawn(_forward(events, socket, self.render), "live_forward")
            try:
                async for frame in socket:
                    if frame.type == WSMsgType.TEXT and _is_ping(frame.data):
                        await socket.send_json({"type": "pong"})
            finally:
                await forwarding.close()
        finally:
            await events.aclose()
        return socket

    async def close_all(self, _app: web.Application | None = None) -> None:
        """Close live sockets on shutdown so the server does not wait out their timeouts."""
        for socket in list(self._sockets):
            await socket.close(code=1001, message=b"server shutting down")


async def _forward(events: EventStream, socket: web.WebSocketResponse, render: EventJson) -> None:
    try:
        async for event in events:
            await socket.send_json(render(event))
    except ConnectionResetError:
        pass
    except Exception:
        # A subscriber that fell behind: close; the client reconnects and refills from history.
        log.warning("socket_events_lost", exc_info=True)
        await socket.close(code=1011, message=b"events lost; reconnect")


def _is_ping(data: str) -> bool:
    try:
        return parse_json(data).get("type") == "ping"
    except (ValueError, AttributeError):
        return False

"""Live event sockets: a WebSocket that forwards one event stream, answers pings, and closes
when the server shuts down. Web chat visitors and the staff console both use it."""

from __future__ import annotations

import asyncio
import contextlib
import weakref

import structlog
from aiohttp import WSMsgType, web

from agent.contracts import EventStream
from channels.http import parse_json

log = structlog.get_logger(__name__)


class EventSockets:
    def __init__(self) -> None:
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
            forward = asyncio.create_task(_forward(events, socket))
            try:
                async for frame in socket:
                    if frame.type == WSMsgType.TEXT and _is_ping(frame.data):
                        await socket.send_json({"type": "pong"})
            finally:
                forward.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await forward
        finally:
            await events.aclose()
        return socket

    async def close_all(self, _app: web.Application | None = None) -> None:
        """Close live sockets on shutdown so the server does not wait out their timeouts."""
        for socket in list(self._sockets):
            await socket.close(code=1001, message=b"server shutting down")


async def _forward(events: EventStream, socket: web.WebSocketResponse) -> None:
    try:
        async for event in events:
            await socket.send_json(event.to_json())
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

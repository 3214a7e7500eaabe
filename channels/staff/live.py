"""The staff console's WebSocket: every staff-topic event (escalations, queue changes, messages)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import weakref

import structlog
from aiohttp import WSMsgType, web

from agent.contracts import EventStream, HandoffService, StaffSession
from channels.staff.session import check_same_origin

log = structlog.get_logger(__name__)


class LiveSockets:
    def __init__(self, handoff: HandoffService) -> None:
        self.handoff = handoff
        self._sockets: weakref.WeakSet[web.WebSocketResponse] = weakref.WeakSet()

    async def serve(self, request: web.Request, session: StaffSession) -> web.StreamResponse:
        check_same_origin(request)
        socket = web.WebSocketResponse(heartbeat=30)
        # Subscribe before the handshake completes so no event falls in between.
        events = self.handoff.staff_events()
        try:
            await socket.prepare(request)
            self._sockets.add(socket)
            log.info("staff_socket_open")
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

    async def close_all(self) -> None:
        for socket in list(self._sockets):
            await socket.close(code=1001, message=b"server shutting down")


async def _forward(events: EventStream, socket: web.WebSocketResponse) -> None:
    try:
        async for event in events:
            await socket.send_json(event.to_json())
    except ConnectionResetError:
        pass
    except Exception:
        # Fell behind: close, and the console reloads the queue when it reconnects.
        log.warning("staff_socket_events_lost", exc_info=True)
        await socket.close(code=1011, message=b"events lost; reconnect")


def _is_ping(data: str) -> bool:
    try:
        return json.loads(data).get("type") == "ping"
    except (ValueError, AttributeError):
        return False

"""The staff console's WebSocket: every staff-topic event (escalations, queue changes, messages).

A socket lives no longer than its sign-in: logging out closes it at once, and it closes when
the session expires or is found gone on a periodic re-check (a logout in another process).
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from datetime import datetime, timezone

import structlog
from aiohttp import web

from agent.contracts import HandoffService, StaffAuth, StaffSession
from agent.tasks import BackgroundTasks
from channels.live import EventSockets
from channels.staff.session import check_same_origin
from channels.staff.wire import event_json

log = structlog.get_logger(__name__)

# Application close codes (4000-4999): the console shows the sign-in page instead of reconnecting.
SESSION_ENDED = 4401


class LiveSockets:
    def __init__(self, handoff: HandoffService, auth: StaffAuth, recheck_s: float = 60.0) -> None:
        self.handoff = handoff
        self.auth = auth
        self.recheck_s = recheck_s
        self._sockets = EventSockets(event_json)
        self._by_token: defaultdict[str, set[web.WebSocketResponse]] = defaultdict(set)

    async def serve(self, request: web.Request, token: str, session: StaffSession) -> web.StreamResponse:
        check_same_origin(request)
        # Subscribe before the handshake completes so no event falls in between.
        events = self.handoff.staff_events()
        socket = web.WebSocketResponse(heartbeat=30)
        self._by_token[token].add(socket)
        watching = BackgroundTasks("staff_socket")
        watching.spawn(self._watch(socket, token, session.expires_at), "staff_session_watch")
        log.info("staff_socket_open", staff=session.staff.username)
        try:
            return await self._sockets.serve(request, events, socket)
        finally:
            await watching.close()
            sockets = self._by_token[token]
            sockets.discard(socket)
            if not sockets:
                del self._by_token[token]

    async def session_ended(self, token: str) -> None:
        """Close every socket opened with this sign-in (after a logout)."""
        for socket in list(self._by_token.get(token, ())):
            await socket.close(code=SESSION_ENDED, message=b"signed out")

    async def close_all(self) -> None:
        await self._sockets.close_all()

    async def _watch(self, socket: web.WebSocketResponse, token: str, expires_at: datetime) -> None:
        while True:
            left = (expires_at - datetime.now(timezone.utc)).total_seconds()
            await asyncio.sleep(max(0.0, min(left, self.recheck_s)))
            if await self.auth.session(token) is None:
                log.info("staff_socket_session_ended")
                await socket.close(code=SESSION_ENDED, message=b"session ended")
                return

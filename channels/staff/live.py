"""The staff console's WebSocket: every staff-topic event (escalations, queue changes, messages)."""

from __future__ import annotations

import structlog
from aiohttp import web

from agent.contracts import HandoffService, StaffSession
from channels.live import EventSockets
from channels.staff.session import check_same_origin

log = structlog.get_logger(__name__)


class LiveSockets:
    def __init__(self, handoff: HandoffService) -> None:
        self.handoff = handoff
        self._sockets = EventSockets()

    async def serve(self, request: web.Request, session: StaffSession) -> web.StreamResponse:
        check_same_origin(request)
        # Subscribe before the handshake completes so no event falls in between.
        events = self.handoff.staff_events()
        log.info("staff_socket_open", staff=session.staff.username)
        return await self._sockets.serve(request, events)

    async def close_all(self) -> None:
        await self._sockets.close_all()

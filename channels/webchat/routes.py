"""The web chat channel's HTTP API, WebSocket and page."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from agent.contracts import ConversationNotFound, ConversationService, InvalidMessage
from channels.http import json_error
from channels.live import EventSockets
from channels.pages import FRAMED_ANYWHERE, NOT_FRAMED, page_headers
from channels.webchat.inbound import CHANNEL, BadRequest, authorize, parse_after, parse_message
from channels.webchat.outbound import history_json, reply_json
from channels.webchat.tokens import TokenSigner

STATIC_DIR = Path(__file__).resolve().parent / "static"


@dataclass(frozen=True, slots=True)
class WidgetInfo:
    name: str
    greeting: str
    max_chars: int


class WebChat:
    def __init__(self, service: ConversationService, signer: TokenSigner, widget: WidgetInfo) -> None:
        self.service = service
        self.signer = signer
        self.widget = widget
        self._sockets = EventSockets()

    def routes(self) -> list[web.AbstractRouteDef]:
        return [
            web.get("/", self.page),
            web.get("/api/widget", self.widget_info),
            web.post("/api/conversations", self.create_conversation),
            web.post("/api/conversations/{conversation_id}/messages", self.post_message),
            web.get("/api/conversations/{conversation_id}/messages", self.get_messages),
            web.get("/api/conversations/{conversation_id}/ws", self.websocket),
            web.static("/static", STATIC_DIR, append_version=False),
        ]

    async def close_sockets(self, app: web.Application) -> None:
        await self._sockets.close_all(app)

    async def page(self, request: web.Request) -> web.FileResponse:
        # The embed page lives in an iframe on the customer's own sites; the chat itself is framed by none.
        framers = FRAMED_ANYWHERE if request.query.get("embed") == "1" else NOT_FRAMED
        return web.FileResponse(STATIC_DIR / "index.html", headers=page_headers(framers))

    async def widget_info(self, _request: web.Request) -> web.Response:
        return web.json_response(
            {"name": self.widget.name, "greeting": self.widget.greeting, "max_chars": self.widget.max_chars}
        )

    async def create_conversation(self, _request: web.Request) -> web.Response:
        key = uuid.uuid4().hex
        conversation_id = await self.service.open_conversation(CHANNEL, key, key)
        return web.json_response(
            {"conversation_id": conversation_id, "token": self.signer.issue(conversation_id)}, status=201
        )

    async def post_message(self, request: web.Request) -> web.Response:
        try:
            conversation_id = authorize(request, self.signer)
            inbound = await parse_message(request, conversation_id, self.widget.max_chars)
            reply = await self.service.handle(inbound)
        except BadRequest as exc:
            return json_error(exc.status, exc.code, exc.message)
        except InvalidMessage as exc:
            return json_error(400, "invalid_message", str(exc))
        except ConversationNotFound:
            return json_error(404, "not_found", "No such conversation.")
        return web.json_response(reply_json(reply))

    async def get_messages(self, request: web.Request) -> web.Response:
        try:
            conversation_id = authorize(request, self.signer)
            after = parse_after(request)
        except BadRequest as exc:
            return json_error(exc.status, exc.code, exc.message)
        found = await self.service.history(conversation_id, after=after)
        if found is None:
            return json_error(404, "not_found", "No such conversation.")
        return web.json_response(history_json(*found))

    async def websocket(self, request: web.Request) -> web.StreamResponse:
        try:
            conversation_id = authorize(request, self.signer)
        except BadRequest as exc:
            return json_error(exc.status, exc.code, exc.message)
        if await self.service.history(conversation_id, limit=0) is None:
            return json_error(404, "not_found", "No such conversation.")
        # Subscribe before the handshake completes so no event falls in between.
        return await self._sockets.serve(request, self.service.events(conversation_id))

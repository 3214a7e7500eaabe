"""The web chat channel's HTTP API, WebSocket and page."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from pathlib import Path

import structlog
from aiohttp import web

from agent.contracts import ConversationNotFound, ConversationService, InvalidMessage, RateLimiter
from channels.http import ApiError, json_error, request_address, too_many_requests
from channels.live import EventSockets, SocketCap, refuse_socket
from channels.pages import FRAMED_ANYWHERE, NOT_FRAMED, page_headers
from channels.webchat.inbound import CHANNEL, authorize, parse_after, parse_message
from channels.webchat.outbound import event_json, history_json, reply_json
from channels.webchat.tokens import TokenSigner

log = structlog.get_logger(__name__)
STATIC_DIR = Path(__file__).resolve().parent / "static"


@dataclass(frozen=True, slots=True)
class WidgetInfo:
    name: str
    greeting: str
    max_chars: int


@dataclass(frozen=True, slots=True)
class ChatLimits:
    """How fast one client may go, per `window_s`; no `limiter`: no rate limits. The socket cap always holds."""

    limiter: RateLimiter | None = None
    window_s: float = 60.0
    conversations_per_address: int = 20
    messages_per_address: int = 120
    messages_per_conversation: int = 30
    sockets: SocketCap = field(default_factory=SocketCap)
    # Proxies (addresses or networks) whose X-Forwarded-For names the real client.
    trusted_proxies: tuple[str, ...] = ()


class WebChat:
    def __init__(
        self, service: ConversationService, signer: TokenSigner, widget: WidgetInfo, limits: ChatLimits | None = None
    ) -> None:
        self.service = service
        self.signer = signer
        self.widget = widget
        self.limits = limits or ChatLimits()
        self._sockets = EventSockets(event_json)

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

    async def _too_fast(self, what: str, rules: list[tuple[str, int]]) -> web.Response | None:
        """Count this request against each (key, limit), or a 429 when one is used up: then it counts against none."""
        limiter = self.limits.limiter
        if limiter is None:
            return None
        window_s = self.limits.window_s
        for key, limit in rules:
            wait = await limiter.wait(f"webchat:{key}", limit, window_s)
            if wait is not None:
                return self._refused(what, key, wait)
        for key, limit in rules:
            wait = await limiter.hit(f"webchat:{key}", limit, window_s)
            if wait is not None:  # another request took the last place since
                return self._refused(what, key, wait)
        return None

    def _refused(self, what: str, key: str, wait: float) -> web.Response:
        log.info("webchat_rate_limited", what=what, key=key, retry_after_s=round(wait, 1))
        return too_many_requests(wait, "rate_limited", f"Too many {what} too quickly.")

    async def create_conversation(self, request: web.Request) -> web.Response:
        address = request_address(request, self.limits.trusted_proxies)
        refused = await self._too_fast(
            "new conversations", [(f"conversations:address:{address}", self.limits.conversations_per_address)]
        )
        if refused is not None:
            return refused
        key = uuid.uuid4().hex
        conversation_id = await self.service.open_conversation(CHANNEL, key, key)
        return web.json_response(
            {"conversation_id": conversation_id, "token": self.signer.issue(conversation_id)}, status=201
        )

    async def post_message(self, request: web.Request) -> web.Response:
        try:
            conversation_id = authorize(request, self.signer)
            address = request_address(request, self.limits.trusted_proxies)
            refused = await self._too_fast(
                "messages",
                [
                    (f"messages:address:{address}", self.limits.messages_per_address),
                    (f"messages:conversation:{conversation_id}", self.limits.messages_per_conversation),
                ],
            )
            if refused is not None:
                return refused
            inbound = await parse_message(request, conversation_id, self.widget.max_chars)
            reply = await self.service.handle(inbound)
        except ApiError as exc:
            return exc.response()
        except InvalidMessage as exc:
            return json_error(400, "invalid_message", str(exc))
        except ConversationNotFound:
            return json_error(404, "not_found", "No such conversation.")
        return web.json_response(reply_json(reply))

    async def get_messages(self, request: web.Request) -> web.Response:
        try:
            conversation_id = authorize(request, self.signer)
            after = parse_after(request)
        except ApiError as exc:
            return exc.response()
        found = await self.service.history(conversation_id, after=after)
        if found is None:
            return json_error(404, "not_found", "No such conversation.")
        return web.json_response(history_json(*found))

    async def websocket(self, request: web.Request) -> web.StreamResponse:
        try:
            conversation_id = authorize(request, self.signer)
        except ApiError as exc:
            return exc.response()
        address = request_address(request, self.limits.trusted_proxies)
        refusal = self.limits.sockets.admit(address)
        if refusal is not None:
            log.info("webchat_socket_refused", address=address, reason=refusal)
            return await refuse_socket(request, refusal)
        try:
            if await self.service.history(conversation_id, limit=0) is None:
                return json_error(404, "not_found", "No such conversation.")
            # Subscribe before the handshake completes so no event falls in between.
            return await self._sockets.serve(request, self.service.events(conversation_id))
        finally:
            self.limits.sockets.release(address)

"""The staff console's HTTP API and page: every /api/staff route except login needs a session."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import structlog
from aiohttp import web

from agent.contracts import (
    HandoffConflict,
    HandoffForbidden,
    HandoffNotFound,
    HandoffService,
    InvalidMessage,
    RateLimiter,
    StaffAuth,
    StaffSession,
)
from agent.text import clean
from channels.http import ApiError, json_error, request_address, too_many_requests
from channels.pages import NOT_FRAMED, page_headers
from channels.staff.live import LiveSockets
from channels.staff.throttle import LoginThrottle
from channels.staff.session import (
    check_csrf,
    clear_session_cookie,
    current_session,
    json_body,
    set_session_cookie,
    text_field,
)
from channels.staff.wire import detail_json, message_json, note_json, queue_item_json, session_json

log = structlog.get_logger(__name__)
STATIC_DIR = Path(__file__).resolve().parent / "static"
# No other site may frame the console (clickjacking a claim or a reply).
PAGE_SECURITY = page_headers(NOT_FRAMED)
MAX_CLIENT_ID = 100
ERROR_STATUS = {HandoffNotFound: 404, HandoffConflict: 409, HandoffForbidden: 403}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
StaffHandler = Callable[[web.Request, StaffSession], Awaitable[web.StreamResponse]]


@dataclass(frozen=True, slots=True)
class ConsoleOptions:
    canned_responses: list[tuple[str, str]] = field(default_factory=list)  # (title, text)
    secure_cookie: bool = False
    # How often an open console socket re-checks its sign-in (a logout in another server process).
    session_recheck_s: float = 60.0
    # Failed sign-ins per username (4x per address) within the window before sign-in is refused.
    login_attempts: int = 5
    login_window_s: float = 900.0
    # Proxies (addresses or networks) whose X-Forwarded-For names the real client.
    trusted_proxies: tuple[str, ...] = ()


class StaffConsole:
    def __init__(
        self, handoff: HandoffService, auth: StaffAuth, limiter: RateLimiter, options: ConsoleOptions = ConsoleOptions()
    ) -> None:
        self.handoff = handoff
        self.auth = auth
        self.options = options
        self.live = LiveSockets(handoff, auth, options.session_recheck_s)
        self.throttle = LoginThrottle(limiter, options.login_attempts, options.login_attempts * 4, options.login_window_s)

    def routes(self) -> list[web.AbstractRouteDef]:
        guard = self._guard
        conversation = "/api/staff/conversations/{conversation_id}"
        return [
            web.get("/staff", self.page),
            web.static("/staff/static", STATIC_DIR, append_version=False),
            web.post("/api/staff/login", self._errors(self.login)),
            web.post("/api/staff/logout", guard(self.logout)),
            web.get("/api/staff/me", guard(self.me)),
            web.get("/api/staff/queue", guard(self.queue)),
            web.get("/api/staff/canned", guard(self.canned)),
            web.get("/api/staff/ws", guard(self.websocket)),
            web.get(conversation, guard(self.detail)),
            web.post(f"{conversation}/claim", guard(self.claim)),
            web.post(f"{conversation}/take-over", guard(self.take_over)),
            web.post(f"{conversation}/reply", guard(self.reply)),
            web.post(f"{conversation}/notes", guard(self.note)),
            web.post(f"{conversation}/resolve", guard(self.resolve)),
            web.post(f"{conversation}/hand-back", guard(self.hand_back)),
            web.post(f"{conversation}/reopen", guard(self.reopen)),
            web.post(f"{conversation}/close", guard(self.close)),
        ]

    async def close_sockets(self, _app: web.Application) -> None:
        await self.live.close_all()

    # -- plumbing -----------------------------------------------------------------------

    def _errors(self, handler: Handler) -> Handler:
        async def wrapped(request: web.Request) -> web.StreamResponse:
            try:
                return await handler(request)
            except ApiError as exc:
                return exc.response()
            except (HandoffNotFound, HandoffConflict, HandoffForbidden) as exc:
                return json_error(ERROR_STATUS[type(exc)], exc.code, exc.message)
            except InvalidMessage as exc:
                return json_error(400, "invalid_text", str(exc))

        return wrapped

    def _guard(self, handler: StaffHandler) -> Handler:
        """A valid session for any request, and the CSRF token for state-changing ones."""

        async def guarded(request: web.Request) -> web.StreamResponse:
            _token, session = await current_session(request, self.auth)
            check_csrf(request, session)
            with structlog.contextvars.bound_contextvars(staff=session.staff.username):
                return await handler(request, session)

        return self._errors(guarded)

    # -- pages and session ----------------------------------------------------------------

    async def page(self, _request: web.Request) -> web.FileResponse:
        return web.FileResponse(STATIC_DIR / "index.html", headers={"Cache-Control": "no-store", **PAGE_SECURITY})

    async def login(self, request: web.Request) -> web.StreamResponse:
        body = await json_body(request)
        username, password = body.get("username"), body.get("password")
        if not isinstance(username, str) or not isinstance(password, str):
            raise ApiError(400, "invalid_credentials", 'The body needs "username" and "password" strings.')
        address = request_address(request, self.options.trusted_proxies)
        keys = self.throttle.keys(username, address)
        wait = await self.throttle.retry_after(keys)
        if wait is not None:
            log.warning("staff_login_throttled", username=username[:64], address=address)
            return too_many_requests(wait, "too_many_attempts", "Too many failed sign-ins.")
        # No account's name or password holds a NUL or a lone surrogate: neither can be stored.
        storable = clean(username) == username and clean(password) == password
        opened = await self.auth.login(username, password) if storable else None
        if opened is None:
            await self.throttle.failed(keys)
            raise ApiError(401, "login_failed", "Wrong username or password.")
        await self.throttle.succeeded(username)
        response = web.json_response(session_json(opened.session))
        set_session_cookie(response, opened.token, opened.session.expires_at, self.options.secure_cookie)
        return response

    async def logout(self, request: web.Request, session: StaffSession) -> web.StreamResponse:
        token, _session = await current_session(request, self.auth)
        await self.auth.logout(token)
        await self.live.session_ended(token)
        log.info("staff_logout")
        response = web.json_response({"ok": True})
        clear_session_cookie(response)
        return response

    async def me(self, _request: web.Request, session: StaffSession) -> web.StreamResponse:
        return web.json_response(session_json(session))

    async def canned(self, _request: web.Request, _session: StaffSession) -> web.StreamResponse:
        items = [{"title": title, "text": text} for title, text in self.options.canned_responses]
        return web.json_response({"canned_responses": items})

    async def websocket(self, request: web.Request, session: StaffSession) -> web.StreamResponse:
        token, _session = await current_session(request, self.auth)
        return await self.live.serve(request, token, session)

    # -- conversations --------------------------------------------------------------------

    async def queue(self, _request: web.Request, _session: StaffSession) -> web.StreamResponse:
        items = await self.handoff.queue()
        return web.json_response({"conversations": [queue_item_json(item) for item in items]})

    async def detail(self, request: web.Request, _session: StaffSession) -> web.StreamResponse:
        found = await self.handoff.detail(request.match_info["conversation_id"])
        return web.json_response(detail_json(found))

    async def claim(self, request: web.Request, session: StaffSession) -> web.StreamResponse:
        state = await self.handoff.claim(request.match_info["conversation_id"], session.staff)
        return web.json_response({"state": state.value})

    async def take_over(self, request: web.Request, session: StaffSession) -> web.StreamResponse:
        state = await self.handoff.take_over(request.match_info["conversation_id"], session.staff)
        return web.json_response({"state": state.value})

    async def reply(self, request: web.Request, session: StaffSession) -> web.StreamResponse:
        body = await json_body(request)
        client_id = body.get("client_message_id")
        # A dedupe key must match exactly: one no database can store is refused, not altered.
        valid = isinstance(client_id, str) and 0 < len(client_id) <= MAX_CLIENT_ID and clean(client_id) == client_id
        if client_id is not None and not valid:
            raise ApiError(
                400, "invalid_client_message_id", f"client_message_id must be 1 to {MAX_CLIENT_ID} characters, without NUL or lone surrogates."
            )
        sent = await self.handoff.reply(request.match_info["conversation_id"], session.staff, text_field(body), client_id)
        return web.json_response({"message": message_json(sent.message), "state": sent.state.value, "duplicate": sent.duplicate})

    async def note(self, request: web.Request, session: StaffSession) -> web.StreamResponse:
        body = await json_body(request)
        note = await self.handoff.add_note(request.match_info["conversation_id"], session.staff, text_field(body))
        return web.json_response({"note": note_json(note)}, status=201)

    async def resolve(self, request: web.Request, session: StaffSession) -> web.StreamResponse:
        state = await self.handoff.resolve(request.match_info["conversation_id"], session.staff)
        return web.json_response({"state": state.value})

    async def hand_back(self, request: web.Request, session: StaffSession) -> web.StreamResponse:
        state = await self.handoff.hand_back(request.match_info["conversation_id"], session.staff)
        return web.json_response({"state": state.value})

    async def reopen(self, request: web.Request, session: StaffSession) -> web.StreamResponse:
        state = await self.handoff.reopen(request.match_info["conversation_id"], session.staff)
        return web.json_response({"state": state.value})

    async def close(self, request: web.Request, session: StaffSession) -> web.StreamResponse:
        state = await self.handoff.close(request.match_info["conversation_id"], session.staff)
        return web.json_response({"state": state.value})

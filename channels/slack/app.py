"""The Slack channel in our aiohttp server: slack-bolt's AsyncApp at /slack/events, OAuth, Socket Mode.

Every request to /slack/events is verified over its raw body (signature, and a timestamp
within five minutes; 401 otherwise) before anything parses it; a verified body that is not a
Slack payload is a 400. Bolt answers url_verification itself. Listeners run before the response
(`process_before_response`), and they are quick: store the message, start the turn in the
background, return. Anything bolt has no listener for gets an empty 200.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable
from typing import Any

import structlog
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.signature import SignatureVerifier

from agent.tasks import BackgroundTasks
from channels.http import json_error
from channels.slack.blocks import ACTIONS
from channels.slack.inbound import SlackInbound
from channels.slack.signature import Refused, parse_payload, verified_text
from channels.slack.staff import SlackStaff

log = structlog.get_logger(__name__)

Context = Callable[[web.Application], AsyncIterator[None]]

EVENTS_PATH = "/slack/events"
# How long turns already started get to finish on shutdown (their answers go to the outbox).
DRAIN_S = 5.0


class SlackChannel:
    def __init__(
        self,
        bolt: AsyncApp,
        inbound: SlackInbound,
        background: BackgroundTasks,
        staff: SlackStaff | None = None,
        signing_secret: str | None = None,
        app_token: str | None = None,
    ) -> None:
        self.bolt = bolt
        self.inbound = inbound
        self.background = background
        self.staff = staff
        # Without a signing secret (Socket Mode) there is no HTTP endpoint for events.
        self.verifier = SignatureVerifier(signing_secret) if signing_secret else None
        self.app_token = app_token
        self.socket: AsyncSocketModeHandler | None = None
        self._register()

    def _register(self) -> None:
        staff = self.staff
        inbound = self.inbound

        async def on_message(event: dict[str, Any], body: dict[str, Any], context: Any, client: Any, request: Any) -> None:
            if staff is not None and event.get("channel") == staff.channel_id:
                await staff.on_thread_message(event, context, client)
            else:
                await inbound.on_event(event, body, context, client, request)

        self.bolt.event("message")(on_message)
        self.bolt.event("app_mention")(on_message)
        if staff is not None:
            self.bolt.action(re.compile("^(" + "|".join(ACTIONS) + ")$"))(self._acked(staff.on_action))

    @staticmethod
    def _acked(handler: Callable[..., Any]) -> Callable[..., Any]:
        async def listener(ack: Any, body: dict[str, Any], action: dict[str, Any], client: Any) -> None:
            try:
                await handler(body, action, client)
            finally:
                await ack()

        return listener

    # -- HTTP ---------------------------------------------------------------------------------

    def routes(self) -> list[web.AbstractRouteDef]:
        routes: list[web.AbstractRouteDef] = []
        if self.verifier is not None:
            routes.append(web.post(EVENTS_PATH, self.events))
        flow = self.bolt.oauth_flow
        if flow is not None:
            routes.append(web.get(flow.install_path, self.install))
            routes.append(web.get(flow.redirect_uri_path, self.oauth_redirect))
        return routes

    async def events(self, request: web.Request) -> web.StreamResponse:
        assert self.verifier is not None
        try:
            text = verified_text(
                self.verifier,
                await request.read(),
                request.headers.get("X-Slack-Request-Timestamp"),
                request.headers.get("X-Slack-Signature"),
            )
            parse_payload(text, request.content_type)
        except Refused as refused:
            log.warning("slack_request_refused", status=refused.status, reason=refused.code)
            return json_error(refused.status, refused.code, refused.message)
        bolt_request = AsyncBoltRequest(body=text, query=request.query_string, headers=request.headers)  # type: ignore[arg-type]
        response = await self.bolt.async_dispatch(bolt_request)
        if response.status == 404:
            # Verified, but nothing here listens for it (an event type we do not use): ignored.
            return web.Response(status=200)
        return await to_aiohttp_response(response)

    async def install(self, request: web.Request) -> web.StreamResponse:
        assert self.bolt.oauth_flow is not None
        return await to_aiohttp_response(await self.bolt.oauth_flow.handle_installation(await to_bolt_request(request)))

    async def oauth_redirect(self, request: web.Request) -> web.StreamResponse:
        assert self.bolt.oauth_flow is not None
        return await to_aiohttp_response(await self.bolt.oauth_flow.handle_callback(await to_bolt_request(request)))

    # -- lifecycle ----------------------------------------------------------------------------

    def contexts(self) -> list[Context]:
        contexts: list[Context] = [self._background_ctx]
        if self.staff is not None:
            contexts.append(self._staff_ctx)
        if self.app_token:
            contexts.append(self._socket_mode_ctx)
        return contexts

    async def _background_ctx(self, _app: web.Application) -> AsyncIterator[None]:
        yield
        # Turns already started finish (their answers are queued in the outbox) before shutdown.
        await self.background.close(grace_s=DRAIN_S)

    async def _staff_ctx(self, _app: web.Application) -> AsyncIterator[None]:
        assert self.staff is not None
        # Following starts before the first request, so no escalation waits for the next poll.
        tasks = BackgroundTasks("slack_staff")
        tasks.spawn(self.staff.follow(), "slack_staff_follow")
        tasks.spawn(self.staff.run(), "slack_staff_sync")
        yield
        await tasks.close()

    async def _socket_mode_ctx(self, _app: web.Application) -> AsyncIterator[None]:
        assert self.app_token is not None
        self.socket = AsyncSocketModeHandler(self.bolt, self.app_token, web_client=self.bolt.client)
        # Connecting retries by itself while Slack is unreachable; the server starts regardless.
        connecting = BackgroundTasks("slack_socket_mode")
        connecting.spawn(self._connect(self.socket), "slack_socket_mode_connect")
        yield
        await connecting.close()
        await self.socket.close_async()

    async def _connect(self, socket: AsyncSocketModeHandler) -> None:
        delay = 1.0
        while True:
            try:
                await socket.connect_async()
                log.info("slack_socket_mode_connected")
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - Slack unreachable at start-up: keep trying
                log.warning("slack_socket_mode_connect_failed", error=str(exc), retry_in_s=delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 60.0)

"""A local server that speaks the Slack Web API's wire format, faults included, and helpers that
sign requests the way Slack does (with slack_sdk's own signing code).

It records every call (chat.postMessage, chat.update, chat.postEphemeral, ...), answers
auth.test, oauth.v2.access and apps.connections.open (whose URL is a local Socket Mode
WebSocket), and on cue: rate-limits with 429 and Retry-After, fails with 5xx, or drops the
connection as if Slack were unreachable.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode

from aiohttp import web
from slack_sdk.signature import SignatureVerifier

from tests.support.server import running_app

SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
BOT_TOKEN = "xoxb-test-bot-token"
APP_TOKEN = "xapp-test-app-token"
TEAM = "T0TEAM001"
BOT_USER = "U0BOT0001"


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    token: str | None
    at: float
    response: dict[str, Any] = field(default_factory=dict)

    @property
    def ts(self) -> str:
        return str(self.response.get("ts"))


@dataclass
class FakeSlack:
    base_url: str = ""  # …/api/, as slack_sdk wants it
    calls: list[Call] = field(default_factory=list)
    # Faults for the next calls of any chat.* method: "429:<seconds>", "500", "drop", a Slack
    # error code (answered as {"ok": false, "error": code}), or "pass" to let one call through.
    faults: list[str] = field(default_factory=list)
    down: bool = False  # every chat.* call fails with a 503 until set back
    unreachable: bool = False  # every call of any method has its connection dropped until set back
    refused: int = 0  # chat.* calls answered with 503 while down
    faulted: list[tuple[str, float]] = field(default_factory=list)  # (fault, when) as served
    installs: dict[str, dict[str, Any]] = field(default_factory=dict)  # oauth code → team
    socket_acks: list[dict[str, Any]] = field(default_factory=list)
    _sockets: list[web.WebSocketResponse] = field(default_factory=list)
    _ts: int = 0
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def of(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    @property
    def posts(self) -> list[Call]:
        return self.of("chat.postMessage")

    def next_ts(self) -> str:
        self._ts += 1
        return f"{1_700_000_000 + self._ts}.{self._ts:06d}"

    async def wait_for(self, method: str, count: int = 1, timeout: float = 10.0) -> list[Call]:
        """The calls of `method` once there are at least `count` of them."""
        deadline = time.monotonic() + timeout
        while len(self.of(method)) < count:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"{method}: {len(self.of(method))} calls, wanted {count}; calls: {self.calls}")
            self.changed.clear()
            try:
                await asyncio.wait_for(self.changed.wait(), min(remaining, 0.2))
            except asyncio.TimeoutError:
                pass
        return self.of(method)

    async def push_event(self, payload: dict[str, Any], envelope_id: str = "env-1") -> None:
        """Send an Events API payload over every open Socket Mode connection."""
        for socket in self._sockets:
            await socket.send_json(
                {"envelope_id": envelope_id, "type": "events_api", "payload": payload, "accepts_response_payload": False}
            )

    async def wait_for_ack(self, envelope_id: str, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while {"envelope_id": envelope_id} not in self.socket_acks:
            if time.monotonic() > deadline:
                raise AssertionError(f"no ack for {envelope_id}; acks: {self.socket_acks}")
            await asyncio.sleep(0.02)

    async def wait_for_socket(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while not self._sockets:
            if time.monotonic() > deadline:
                raise AssertionError("no Socket Mode connection")
            await asyncio.sleep(0.05)


def _token(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    return header[7:] if header.startswith("Bearer ") else None


def build_app(state: FakeSlack) -> web.Application:
    async def api(request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        raw = await request.read()
        if state.unreachable:
            state.refused += 1
            assert request.transport is not None
            request.transport.close()
            raise ConnectionResetError("unreachable")
        if request.content_type == "application/json":
            params = json.loads(raw or b"{}")
        else:
            params = dict(parse_qsl(raw.decode()))
        params.update(request.query)
        if method.startswith("chat."):
            if state.down:
                state.refused += 1
                return web.Response(status=503, text="<html>Service Unavailable</html>", content_type="text/html")
            if state.faults and state.faults[0] == "pass":
                state.faults.pop(0)
            elif state.faults:
                fault = state.faults.pop(0)
                state.faulted.append((fault, time.monotonic()))
                if fault.startswith("429"):
                    seconds = fault.split(":")[1] if ":" in fault else "1"
                    return web.json_response({"ok": False, "error": "ratelimited"}, status=429, headers={"Retry-After": seconds})
                if fault == "500":
                    return web.json_response({"ok": False, "error": "internal_error"}, status=500)
                if fault == "drop":
                    assert request.transport is not None
                    request.transport.close()
                    raise ConnectionResetError("dropped")
                return web.json_response({"ok": False, "error": fault})
        answer = _answer(state, method, params, request)
        state.calls.append(Call(method, params, _token(request), time.monotonic(), answer))
        state.changed.set()
        return web.json_response(answer)

    async def socket(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        state._sockets.append(ws)
        await ws.send_json({"type": "hello", "num_connections": 1, "connection_info": {"app_id": "A0APP"}})
        async for frame in ws:
            try:
                state.socket_acks.append(json.loads(frame.data))
                state.changed.set()
            except (TypeError, ValueError):
                pass
        state._sockets.remove(ws)
        return ws

    app = web.Application()
    app.router.add_post("/api/{method}", api)
    app.router.add_get("/socket", socket)
    return app


def _answer(state: FakeSlack, method: str, params: dict[str, Any], request: web.Request) -> dict[str, Any]:
    if method == "auth.test":
        team = state.installs.get(_token(request) or "", {}).get("team_id", TEAM)
        return {"ok": True, "url": "https://test.slack.com/", "team": "Test", "user": "switchboard",
                "team_id": team, "user_id": BOT_USER, "bot_id": "B0BOT0001", "is_enterprise_install": False}
    if method in ("chat.postMessage", "chat.update"):
        ts = params.get("ts") or state.next_ts()
        return {"ok": True, "channel": params.get("channel"), "ts": ts, "message": {"text": params.get("text"), "ts": ts}}
    if method == "chat.postEphemeral":
        return {"ok": True, "message_ts": state.next_ts()}
    if method == "apps.connections.open":
        host = request.host
        return {"ok": True, "url": f"ws://{host}/socket"}
    if method == "oauth.v2.access":
        install = state.installs.get(params.get("code", ""))
        if install is None:
            return {"ok": False, "error": "invalid_code"}
        return {
            "ok": True, "app_id": "A0APP", "token_type": "bot", "scope": "chat:write,im:history",
            "access_token": install["token"], "bot_user_id": BOT_USER,
            "team": {"id": install["team_id"], "name": "Installed"}, "enterprise": None,
            "is_enterprise_install": False, "authed_user": {"id": "U0INSTALLER"},
        }
    return {"ok": True}


@asynccontextmanager
async def fake_slack(port: int = 0) -> AsyncIterator[FakeSlack]:
    """The fake API on a free loopback port, or on `port` (one the server was told of while it was closed)."""
    state = FakeSlack()
    if not port:
        async with running_app(build_app(state)) as base_url:
            state.base_url = f"{base_url}/api/"
            yield state
        return
    runner = web.AppRunner(build_app(state), shutdown_timeout=2)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    state.base_url = api_url(port)
    try:
        yield state
    finally:
        await runner.cleanup()


def closed_port() -> int:
    """A loopback port nothing listens on (yet): connecting to it is refused, as to an unreachable API."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def api_url(port: int) -> str:
    return f"http://127.0.0.1:{port}/api/"


# -- signing and payloads, as Slack sends them ------------------------------------------------


def signed(body: str, secret: str = SIGNING_SECRET, timestamp: int | None = None, retry: int | None = None,
           content_type: str = "application/json") -> dict[str, str]:
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    headers = {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": SignatureVerifier(secret).generate_signature(timestamp=stamp, body=body),
    }
    if retry is not None:
        headers["X-Slack-Retry-Num"] = str(retry)
        headers["X-Slack-Retry-Reason"] = "http_timeout"
    return headers


def event_callback(event: dict[str, Any], event_id: str = "Ev0001", team: str = TEAM) -> dict[str, Any]:
    return {
        "token": "legacy", "team_id": team, "api_app_id": "A0APP", "type": "event_callback",
        "event_id": event_id, "event_time": int(time.time()), "event": {"event_ts": event.get("ts"), **event},
        "authorizations": [{"team_id": team, "user_id": BOT_USER, "is_bot": True, "enterprise_id": None}],
    }


def dm(text: str, ts: str, user: str = "U0CUSTOMER", channel: str = "D0DM00001", **extra: Any) -> dict[str, Any]:
    return {"type": "message", "channel_type": "im", "channel": channel, "user": user, "text": text, "ts": ts, **extra}


def mention(text: str, ts: str, user: str = "U0CUSTOMER", channel: str = "C0GENERAL", **extra: Any) -> dict[str, Any]:
    return {"type": "app_mention", "channel": channel, "user": user, "text": f"<@{BOT_USER}> {text}", "ts": ts, **extra}


def block_action(action_id: str, value: str, user: str, channel: str, message_ts: str, team: str = TEAM) -> str:
    """A block_actions interaction as Slack posts it: a form with the JSON in `payload`."""
    payload = {
        "type": "block_actions", "team": {"id": team, "domain": "test"}, "user": {"id": user, "team_id": team},
        "api_app_id": "A0APP", "token": "legacy", "trigger_id": "1.2.3",
        "channel": {"id": channel, "name": "staff"}, "container": {"type": "message", "message_ts": message_ts},
        "message": {"ts": message_ts, "type": "message"}, "response_url": "https://hooks.slack.invalid/x",
        "actions": [{"type": "button", "action_id": action_id, "block_id": "switchboard_handoff", "value": value,
                     "action_ts": str(time.time())}],
    }
    return urlencode({"payload": json.dumps(payload)})

"""A local server speaking Twilio's Messages REST API: records what is sent, fails on cue.

POST /2010-04-01/Accounts/{AccountSid}/Messages.json with HTTP Basic auth (account sid and auth
token) and a form body, as Twilio takes it. Answers 201 with a message resource, or Twilio's
error JSON ({"code", "message", "more_info", "status"}):
  - a queued failure (`fail_next(status, code, retry_after=, after=)`) is used first, in order;
  - a number in `unsubscribed` gets 400 / 21610, one in `invalid` 400 / 21211;
  - wrong credentials get 401 / 20003.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import encode_basic_auth, web

from tests.support.server import running_app

ACCOUNT_SID = "AC" + "0" * 31 + "1"
AUTH_TOKEN = "test-auth-token-0123456789abcdef"
ERRORS = {
    20003: "Authenticate",
    20429: "Too Many Requests",
    20500: "Internal Server Error",
    21211: "The 'To' number is not a valid phone number.",
    21610: "Attempt to send to unsubscribed recipient",
}


@dataclass
class FakeTwilio:
    base_url: str = ""
    messages: list[dict[str, str]] = field(default_factory=list)
    attempts: list[dict[str, str]] = field(default_factory=list)
    failures: list[tuple[int, int, float | None, int]] = field(default_factory=list)
    unsubscribed: set[str] = field(default_factory=set)
    invalid: set[str] = field(default_factory=set)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    def fail_next(self, status: int, code: int, retry_after: float | None = None, after: int = 0) -> None:
        """Answer a coming request with this error, after letting `after` requests through."""
        self.failures.append((status, code, retry_after, after))

    async def wait_for(self, count: int, timeout: float = 10.0) -> list[dict[str, str]]:
        """Until `count` messages were accepted."""
        async with asyncio.timeout(timeout):
            while len(self.messages) < count:
                self.arrived.clear()
                await self.arrived.wait()
        return self.messages


def _error(status: int, code: int, retry_after: float | None = None) -> web.Response:
    body = {
        "code": code,
        "message": ERRORS.get(code, "Error"),
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    return web.json_response(body, status=status, headers=headers)


def build_app(state: FakeTwilio) -> web.Application:
    sids = (f"SM{n:032x}" for n in itertools.count(1))

    async def create_message(request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != encode_basic_auth(ACCOUNT_SID, AUTH_TOKEN):
            return _error(401, 20003)
        if request.match_info["account"] != ACCOUNT_SID:
            return _error(404, 20404)
        form = {k: v for k, v in (await request.post()).items() if isinstance(v, str)}
        state.attempts.append(form)
        if state.failures:
            status, code, retry_after, after = state.failures[0]
            if after == 0:
                state.failures.pop(0)
                return _error(status, code, retry_after)
            state.failures[0] = (status, code, retry_after, after - 1)
        if "From" not in form and "MessagingServiceSid" not in form or not form.get("Body"):
            return _error(400, 21602)
        if form.get("To") in state.invalid:
            return _error(400, 21211)
        if form.get("To") in state.unsubscribed:
            return _error(400, 21610)
        sid = next(sids)
        state.messages.append({"sid": sid, **form})
        state.arrived.set()
        resource: dict[str, Any] = {
            "sid": sid,
            "account_sid": ACCOUNT_SID,
            "to": form["To"],
            "from": form.get("From"),
            "messaging_service_sid": form.get("MessagingServiceSid"),
            "body": form["Body"],
            "status": "queued",
            "num_segments": "1",
            "direction": "outbound-api",
            "api_version": "2010-04-01",
            "error_code": None,
            "uri": f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{sid}.json",
        }
        return web.json_response(resource, status=201)

    app = web.Application()
    app.router.add_post("/2010-04-01/Accounts/{account}/Messages.json", create_message)
    return app


@asynccontextmanager
async def fake_twilio() -> AsyncIterator[FakeTwilio]:
    state = FakeTwilio()
    async with running_app(build_app(state)) as base_url:
        state.base_url = base_url
        yield state

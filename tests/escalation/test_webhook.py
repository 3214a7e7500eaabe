"""New escalations posted to a webhook, signed so the receiver can verify them."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import aiohttp
import pytest
from aiohttp import web

from agent.settings import ConfigError
from tests.conftest import SettingsFactory
from tests.support.client import new_visitor
from tests.support.server import running_app, running_server

SECRET = "s3cret-for-tests"


def verify(request_body: bytes, timestamp: str, signature: str) -> bool:
    """What a receiver does: recompute the HMAC over "<timestamp>.<body>" and compare."""
    expected = "sha256=" + hmac.new(SECRET.encode(), timestamp.encode() + b"." + request_body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature) and abs(time.time() - int(timestamp)) < 300


@asynccontextmanager
async def webhook_site(
    receive: Callable[[web.Request], Awaitable[web.Response]], make_settings: SettingsFactory, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[str, aiohttp.ClientSession]]:
    """A receiver answering with `receive`, and the real server posting escalations to it."""
    receiver = web.Application()
    receiver.router.add_post("/hook", receive)
    monkeypatch.setenv("SWITCHBOARD_WEBHOOK_SECRET", SECRET)
    async with running_app(receiver) as receiver_url:
        settings = make_settings(escalation={"webhook_url": f"{receiver_url}/hook"})
        async with running_server(settings) as (base_url, _app), aiohttp.ClientSession() as session:
            yield base_url, session


async def test_an_escalation_reaches_the_webhook_signed_even_after_a_failure(
    make_settings: SettingsFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    received: list[dict] = []
    statuses = iter([503])  # the first delivery fails; the retry must get through
    arrived = asyncio.Event()

    async def receive(request: web.Request) -> web.Response:
        body = await request.read()
        if not verify(body, request.headers["X-Switchboard-Timestamp"], request.headers["X-Switchboard-Signature"]):
            return web.Response(status=401)
        status = next(statuses, 200)
        if status == 200:
            received.append(json.loads(body))
            arrived.set()
        return web.Response(status=status)

    async with webhook_site(receive, make_settings, monkeypatch) as (base_url, session):
        visitor = await new_visitor(session, base_url)
        await visitor.send("what is your return policy")  # not an escalation: nothing posted
        await visitor.send("can I talk to a human please")
        await asyncio.wait_for(arrived.wait(), timeout=10)
    assert len(received) == 1
    assert received[0]["type"] == "escalation"
    assert received[0]["conversation_id"] == visitor.conversation_id
    assert received[0]["reason"] == "customer_request" and received[0]["channel"] == "web"


def test_a_webhook_without_its_secret_fails_start_up(make_settings: SettingsFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    from agent.app.server import create_app

    monkeypatch.delenv("SWITCHBOARD_WEBHOOK_SECRET", raising=False)
    with pytest.raises(ConfigError, match="SWITCHBOARD_WEBHOOK_SECRET"):
        create_app(make_settings(escalation={"webhook_url": "http://127.0.0.1:9/hook"}))


async def test_a_receiver_slow_on_one_escalation_does_not_hold_up_the_next(
    make_settings: SettingsFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    received: list[str] = []
    first = asyncio.Event()
    release = asyncio.Event()

    async def receive(request: web.Request) -> web.Response:
        body = json.loads(await request.read())
        if not first.is_set():
            first.set()
            await release.wait()  # the first delivery hangs until the test lets it go
        received.append(body["conversation_id"])
        return web.Response(status=200)

    async with webhook_site(receive, make_settings, monkeypatch) as (base_url, session):
        slow, quick = await new_visitor(session, base_url), await new_visitor(session, base_url)
        await slow.send("can I talk to a human please")
        await asyncio.wait_for(first.wait(), timeout=10)
        await quick.send("can I talk to a human please")
        async with asyncio.timeout(5):
            while quick.conversation_id not in received:
                await asyncio.sleep(0.05)
        assert received == [quick.conversation_id]
        release.set()
        async with asyncio.timeout(5):
            while slow.conversation_id not in received:
                await asyncio.sleep(0.05)

"""The real server with the Slack channel on, talking to a local fake Slack Web API."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from agent.settings import Settings
from agent.store import Database, ConversationStore
from agent.store.tables import Conversation, Message, OutboxItem
from sqlmodel import select
from tests.conftest import SettingsFactory
from tests.support.fake_openai import FakeOpenAI, fake_openai
from tests.support.fake_slack import BOT_TOKEN, SIGNING_SECRET, Call, FakeSlack, event_callback, fake_slack, signed
from tests.support.server import running_server

STAFF_CHANNEL = "C0STAFF01"
FAST_OUTBOX = {"poll_interval_s": 0.05, "backoff_base_s": 0.05, "backoff_max_s": 0.3, "max_attempts": 20}


@dataclass
class SlackRig:
    api: FakeSlack
    base_url: str
    app: web.Application
    settings: Settings
    http: aiohttp.ClientSession

    async def post_event(self, event: dict[str, Any], event_id: str = "Ev0001", retry: int | None = None, **kw: Any) -> aiohttp.ClientResponse:
        body = json.dumps(event_callback(event, event_id, **kw))
        return await self.post_raw(body, signed(body, retry=retry))

    async def post_raw(self, body: str, headers: dict[str, str], path: str = "/slack/events") -> aiohttp.ClientResponse:
        async with self.http.post(f"{self.base_url}{path}", data=body.encode(), headers=headers) as response:
            await response.read()
            return response

    async def messages(self) -> list[Message]:
        database = Database(self.settings.database_url)
        try:
            return await database.run(lambda s: list(s.exec(select(Message).order_by(Message.id)).all()))
        finally:
            await database.dispose()

    async def answered(self, text: str, timeout: float = 10.0) -> list[Call]:
        """The posts once the customer's `text` has its answer stored and no outbox row is still to
        be sent: whatever an earlier event of the conversation caused has been sent by then."""
        async with asyncio.timeout(timeout):
            while True:
                messages = await self.messages()
                asked = [i for i, m in enumerate(messages) if m.role == "customer" and m.text == text]
                if asked and any(m.role == "bot" and m.conversation_id == messages[asked[-1]].conversation_id
                                 for m in messages[asked[-1] + 1:]):
                    if all(row.status not in ("pending", "sending") for row in await self._outbox()):
                        return self.api.posts
                await asyncio.sleep(0.05)

    async def _outbox(self) -> list[OutboxItem]:
        database = Database(self.settings.database_url)
        try:
            return await database.run(lambda s: list(s.exec(select(OutboxItem)).all()))
        finally:
            await database.dispose()

    async def conversations(self) -> list[Conversation]:
        database = Database(self.settings.database_url)
        try:
            return await database.run(lambda s: list(s.exec(select(Conversation)).all()))
        finally:
            await database.dispose()


@pytest.fixture
def slack_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Single-workspace credentials, as an operator exports them."""
    for name in ("SLACK_APP_TOKEN", "SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SLACK_SIGNING_SECRET", SIGNING_SECRET)
    monkeypatch.setenv("SLACK_BOT_TOKEN", BOT_TOKEN)


@pytest.fixture
async def api() -> AsyncIterator[FakeSlack]:
    async with fake_slack() as fake:
        yield fake


@pytest.fixture
async def rig(slack_env: None, api: FakeSlack, make_settings: SettingsFactory) -> AsyncIterator[SlackRig]:
    settings = make_settings(
        slack={"api_base_url": api.base_url, "staff_channel": STAFF_CHANNEL, "staff_poll_interval_s": 0.2},
        outbox=FAST_OUTBOX,
    )
    async with running_server(settings) as (base_url, app):
        async with aiohttp.ClientSession() as http:
            yield SlackRig(api, base_url, app, settings, http)


@pytest.fixture
async def openai() -> AsyncIterator[FakeOpenAI]:
    async with fake_openai() as state:
        yield state


@asynccontextmanager
async def rig_with_model(
    api: FakeSlack, openai: FakeOpenAI, make_settings: SettingsFactory, model: str, **overrides: Any
) -> AsyncIterator[SlackRig]:
    """The server answering every route with one fake model; by default it answers "echo: <message>"."""
    settings = make_settings(
        slack={"api_base_url": api.base_url},
        outbox=FAST_OUTBOX,
        models={"fake": {"provider": "openai", "base_url": openai.base_url, "model": model, "max_tokens": 4096}},
        routes={route: {"chain": ["fake"]} for route in ("support", "sales", "lookup")},
        **overrides,
    )
    async with running_server(settings) as (base_url, app):
        async with aiohttp.ClientSession() as http:
            yield SlackRig(api, base_url, app, settings, http)


__all__ = ["STAFF_CHANNEL", "SlackRig", "ConversationStore", "rig_with_model"]

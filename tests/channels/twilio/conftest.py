"""A real server with Twilio on, its REST API replaced by the local fake, and a signing client."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest

from agent.settings import Settings
from agent.store import Database, ConversationStore
from agent.store.outbox import OutboxStore
from agent.store.tables import OutboxItem
from tests.conftest import SettingsFactory
from tests.support.fake_openai import FakeOpenAI, fake_openai
from tests.support.fake_twilio import FakeTwilio, fake_twilio
from tests.support.server import running_server
from tests.support.twilio import TwilioClient, twilio_env

PUBLIC_URL = "https://switchboard.example.com"
FAST_OUTBOX = {"poll_interval_s": 0.05, "backoff_base_s": 0.05, "backoff_max_s": 0.2, "max_attempts": 4}


@dataclass
class Site:
    client: TwilioClient
    settings: Settings
    database: Database
    fake: FakeTwilio
    base_url: str

    @property
    def store(self) -> ConversationStore:
        return ConversationStore(self.database)

    @property
    def outbox(self) -> OutboxStore:
        return OutboxStore(self.database)

    async def settled_outbox(self, conversation_id: str, timeout: float = 5.0) -> list[OutboxItem]:
        """The conversation's outbox rows once none is still pending or being sent."""
        async with asyncio.timeout(timeout):
            while True:
                rows = await self.outbox.items(conversation_id)
                if rows and all(row.status not in ("pending", "sending") for row in rows):
                    return rows
                await asyncio.sleep(0.05)


@pytest.fixture
async def fake() -> AsyncIterator[FakeTwilio]:
    async with fake_twilio() as state:
        yield state


@pytest.fixture
async def openai() -> AsyncIterator[FakeOpenAI]:
    async with fake_openai() as state:
        yield state


def slow_model(openai: FakeOpenAI, seconds: float) -> dict[str, Any]:
    """Settings overrides that answer every route with a model taking `seconds`."""
    return {
        "models": {"slow": {"provider": "openai", "base_url": openai.base_url, "model": f"slow-{seconds}"}},
        "routes": {route: {"chain": ["slow"]} for route in ("support", "sales", "lookup")},
    }


SiteFactory = Callable[..., Any]


@pytest.fixture
def twilio_site(
    make_settings: SettingsFactory, fake: FakeTwilio, monkeypatch: pytest.MonkeyPatch
) -> SiteFactory:
    """`async with twilio_site(sms={...}, voice={...}, **settings) as site:` a running server."""
    twilio_env(monkeypatch)

    @asynccontextmanager
    async def start(
        sms: dict[str, Any] | None = None, voice: dict[str, Any] | None = None, public_url: str | None = PUBLIC_URL, **overrides: Any
    ) -> AsyncIterator[Site]:
        twilio = {"api_base_url": fake.base_url, "sms": {"inline_deadline_s": 2.0, **(sms or {})}, "voice": voice or {}}
        overrides.setdefault("outbox", FAST_OUTBOX)
        settings = make_settings(twilio=twilio, server={"public_url": public_url}, **overrides)
        async with running_server(settings) as (base_url, _app):
            database = Database(settings.database_url)
            try:
                async with aiohttp.ClientSession() as session:
                    yield Site(TwilioClient(session, base_url, public_url), settings, database, fake, base_url)
            finally:
                await database.dispose()

    return start

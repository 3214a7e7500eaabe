"""The OpenAI face of the fake provider server (tests/support/fake_providers.py), kept under
its old name: `base_url` ends in `/v1`, behaviours are chosen by model name as there."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from tests.support.fake_providers import FakeProviders, fake_providers


@dataclass
class FakeOpenAI:
    server: FakeProviders

    @property
    def base_url(self) -> str:
        return self.server.openai_url

    @property
    def requests(self) -> list[dict[str, Any]]:
        return self.server.requests


@asynccontextmanager
async def fake_openai() -> AsyncIterator[FakeOpenAI]:
    async with fake_providers() as server:
        yield FakeOpenAI(server)

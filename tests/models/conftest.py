"""The fake provider server and a pool of real httpx clients pointed at it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from agent.models import ChatModel
from agent.models.providers import ClientPool, ModelSpec, Timeouts, http_registry
from tests.support.fake_providers import FakeProviders, fake_providers

MakeModel = Callable[..., ChatModel]


@pytest.fixture
async def fake() -> AsyncIterator[FakeProviders]:
    async with fake_providers() as server:
        yield server


@pytest.fixture
async def pool() -> AsyncIterator[ClientPool]:
    pool = ClientPool()
    yield pool
    await pool.aclose()


@pytest.fixture
def make_model(fake: FakeProviders, pool: ClientPool) -> MakeModel:
    registry = http_registry(pool)
    urls = {"openai": fake.openai_url, "anthropic": fake.anthropic_url, "gemini": fake.gemini_url}

    def make(model: str, provider: str = "openai", name: str | None = None, total_s: float = 2.0, first_token_s: float | None = None, **extra: Any) -> ChatModel:
        spec = ModelSpec(
            name=name or model, provider=provider, model=model, base_url=urls[provider], api_key=extra.pop("api_key", "sk-test"),
            timeouts=Timeouts(connect_s=1.0, first_token_s=first_token_s, total_s=total_s), **extra,
        )  # fmt: skip
        return registry.build(spec)

    return make

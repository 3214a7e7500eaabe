from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from agent.demo_store import create_demo_store
from tests.support.server import running_app


@pytest.fixture
async def store_url() -> AsyncIterator[str]:
    """The demo store on the demo's files, on a loopback port: a fresh copy of the orders per test."""
    async with running_app(create_demo_store()) as base_url:
        yield base_url


@pytest.fixture
async def http(store_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=store_url, timeout=10) as client:
        yield client

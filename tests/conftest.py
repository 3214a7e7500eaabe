from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from agent.settings import Settings, load_settings
from agent.store import Database
from agent.store.migrate import upgrade
from tests.support.server import running_server
from tests.support.services import fresh_postgres_database

SettingsFactory = Callable[..., Settings]


@pytest.fixture
def make_settings(tmp_path: Path) -> SettingsFactory:
    """Settings from the shipped config, with data (and the SQLite file) in tmp_path."""

    def factory(**overrides: Any) -> Settings:
        overrides.setdefault("data_dir", str(tmp_path / "data"))
        overrides.setdefault("log", {"level": "warning", "format": "json"})
        return load_settings(**overrides)

    return factory


@pytest.fixture
async def server(make_settings: SettingsFactory) -> AsyncIterator[str]:
    """The real server on embedded defaults, on a loopback port."""
    async with running_server(make_settings()) as (base_url, _app):
        yield base_url


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    """A migrated database (SQLite, then PostgreSQL) for the store's own tests."""
    await asyncio.to_thread(upgrade, database_url)
    database = Database(database_url)
    yield database
    await database.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'store.db'}"
    else:
        async with fresh_postgres_database() as url:
            yield url

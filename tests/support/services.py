"""External services the tests need: required under CI=true, skipped with a reason elsewhere."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest

POSTGRES_ADMIN_DSN = os.environ.get("SWITCHBOARD_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("SWITCHBOARD_TEST_REDIS", "redis://127.0.0.1:6379/0")
CHROMIUM = os.environ.get("SWITCHBOARD_TEST_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def unavailable(reason: str) -> None:
    """Fail under CI (a missing service there is a broken set-up), skip elsewhere."""
    if in_ci():
        pytest.fail(f"required under CI=true: {reason}")
    pytest.skip(reason)


@asynccontextmanager
async def fresh_postgres_database() -> AsyncIterator[str]:
    """A new, empty PostgreSQL database for one test; dropped afterwards."""
    import asyncpg

    try:
        admin = await asyncpg.connect(POSTGRES_ADMIN_DSN, timeout=5)
    except (OSError, asyncpg.PostgresError) as exc:
        unavailable(f"PostgreSQL not reachable at {POSTGRES_ADMIN_DSN}: {exc}")
    name = f"switchboard_test_{uuid.uuid4().hex[:12]}"
    await admin.execute(f'CREATE DATABASE "{name}"')
    base = POSTGRES_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
    try:
        yield f"{base}/{name}"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def chromium_path() -> str:
    if not os.path.exists(CHROMIUM):
        unavailable(f"Chromium not installed at {CHROMIUM} (apt-get install chromium)")
    return CHROMIUM


async def redis_url() -> str:
    """The test Redis, reachable; every test gives its keys a prefix of its own."""
    from redis.asyncio import Redis
    from redis.exceptions import RedisError

    client = Redis.from_url(REDIS_URL, socket_connect_timeout=3)
    try:
        await client.ping()
    except (RedisError, OSError) as exc:
        unavailable(f"Redis not reachable at {REDIS_URL}: {exc}")
    finally:
        await client.aclose()
    return REDIS_URL


@asynccontextmanager
async def cluster_settings(make_settings: Callable[..., Any], **overrides: Any) -> AsyncIterator[Any]:
    """Settings for several server processes: a fresh PostgreSQL database, the test Redis under a
    prefix of its own, and the one visitor-token key every process must share."""
    url = await redis_url()
    prefix = f"test-{uuid.uuid4().hex[:8]}"
    async with fresh_postgres_database() as database_url:
        yield make_settings(
            database={"url": database_url}, redis={"url": url, "prefix": prefix}, secret_key=f"key-{prefix}", **overrides
        )

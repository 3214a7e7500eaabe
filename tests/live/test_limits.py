"""The rate limiter: a sliding window per key, in memory and shared through Redis."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from agent.live.limits import InMemoryRateLimiter
from agent.live.redis_limits import RedisRateLimiter
from tests.support.services import redis_url


async def test_in_memory_the_window_slides_and_refusals_are_not_counted() -> None:
    now = [0.0]
    limiter = InMemoryRateLimiter(clock=lambda: now[0])
    for second in (0.0, 10.0, 20.0):
        now[0] = second
        assert await limiter.hit("a", 3, 60) is None
    now[0] = 30.0
    assert await limiter.hit("a", 3, 60) == 30.0  # the first leaves the window at 60
    assert await limiter.wait("a", 3, 60) == 30.0
    assert await limiter.hit("b", 3, 60) is None  # keys are counted apart
    now[0] = 60.0
    assert await limiter.hit("a", 3, 60) is None  # the refused hits at 30 did not count
    assert await limiter.hit("a", 3, 60) == 10.0
    await limiter.clear("a")
    assert await limiter.wait("a", 3, 60) is None


async def test_in_memory_keys_are_bounded() -> None:
    limiter = InMemoryRateLimiter(max_keys=2)
    for key in ("a", "b", "c"):
        assert await limiter.hit(key, 1, 60) is None
    assert await limiter.hit("a", 1, 60) is None  # the least recently used key was let go
    assert await limiter.hit("c", 1, 60) is not None


@pytest.fixture
async def redis_clients() -> tuple[Redis, Redis]:
    url = await redis_url()
    first, second = Redis.from_url(url), Redis.from_url(url)
    yield first, second
    await first.aclose()
    await second.aclose()


async def test_through_redis_two_processes_share_one_limit(redis_clients: tuple[Redis, Redis]) -> None:
    prefix = f"test-{uuid.uuid4().hex[:8]}"
    first, second = (RedisRateLimiter(client, prefix) for client in redis_clients)
    assert await first.hit("addr:1", 3, 60) is None
    assert await second.hit("addr:1", 3, 60) is None
    assert await second.wait("addr:1", 3, 60) is None  # asking counts nothing
    assert await first.hit("addr:1", 3, 60) is None
    wait = await second.hit("addr:1", 3, 60)
    assert wait is not None and 59 < wait <= 60
    assert await first.wait("addr:1", 3, 60) == pytest.approx(wait, abs=1)
    assert await first.hit("addr:2", 3, 60) is None
    await first.clear("addr:1")
    assert await second.hit("addr:1", 3, 60) is None
    keys = await redis_clients[0].keys(f"{prefix}:*")
    assert sorted(keys) == [f"{prefix}:limits:addr:1".encode(), f"{prefix}:limits:addr:2".encode()]
    assert 0 < await redis_clients[0].pttl(f"{prefix}:limits:addr:1") <= 60_000  # gone once the window is


async def test_through_redis_the_window_slides(redis_clients: tuple[Redis, Redis]) -> None:
    limiter = RedisRateLimiter(redis_clients[0], f"test-{uuid.uuid4().hex[:8]}")
    assert await limiter.hit("k", 1, 0.2) is None
    wait = await limiter.hit("k", 1, 0.2)
    assert wait is not None and wait <= 0.2
    await asyncio.sleep(wait)  # the wait it named: by then the old event has left the window
    assert await limiter.hit("k", 1, 0.2) is None


async def test_without_redis_each_process_still_counts_for_itself() -> None:
    unreachable = Redis.from_url("redis://127.0.0.1:1/0", retry=Retry(NoBackoff(), 0))
    limiter = RedisRateLimiter(unreachable, "test")
    assert await limiter.hit("k", 2, 60) is None
    assert await limiter.hit("k", 2, 60) is None
    assert await limiter.hit("k", 2, 60) is not None
    await limiter.clear("k")
    assert await limiter.hit("k", 2, 60) is None
    await unreachable.aclose()

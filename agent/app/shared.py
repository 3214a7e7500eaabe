"""Part of the composition root: what server processes share, in memory or through Redis."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import structlog
from aiohttp import web

from agent.contracts import RateLimiter
from agent.live.events import EventBus, InProcessEventBus
from agent.live.limits import InMemoryRateLimiter
from agent.live.locks import ConversationLocks, InProcessLocks
from agent.settings import Settings

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class SharedState:
    """What server processes share beyond the database: live events, turn locks, rate-limit counts."""

    bus: EventBus
    locks: ConversationLocks
    limiter: RateLimiter
    context: Callable[[web.Application], AsyncIterator[None]] | None = None


def build_shared_state(settings: Settings) -> SharedState:
    """In memory for one process; through Redis when `redis.url` is set."""
    if not settings.redis.url:
        return SharedState(InProcessEventBus(), InProcessLocks(), InMemoryRateLimiter())
    # Imported here: one process without Redis loads no Redis client.
    from redis.asyncio import Redis

    from agent.live.redis_events import RedisEventBus
    from agent.live.redis_limits import RedisRateLimiter
    from agent.live.redis_locks import RedisLocks

    # Timeouts and health checks: a half-dead connection must fail (and reconnect), not hang.
    client = Redis.from_url(
        settings.redis.url, socket_connect_timeout=5, socket_timeout=10, socket_keepalive=True, health_check_interval=30
    )
    bus = RedisEventBus(client, settings.redis.prefix)
    locks = RedisLocks(client, settings.redis.prefix, settings.redis.lock_lease_s)

    async def redis_ctx(app: web.Application) -> AsyncIterator[None]:
        await client.ping()  # an unreachable Redis stops start-up with its error, not later
        await bus.start()
        await locks.start()
        log.info("redis_connected", prefix=settings.redis.prefix)
        yield
        await locks.close()
        await bus.close()
        await client.aclose()

    return SharedState(bus, locks, RedisRateLimiter(client, settings.redis.prefix), redis_ctx)

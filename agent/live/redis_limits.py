"""Sliding-window rate limits in Redis, so that every server process counts against one limit.

One sorted set per key holds the recent events' times (Redis's own clock, so the processes'
clocks need not agree); a Lua script trims, counts and adds in one step. While Redis cannot be
reached, each process counts in its own memory instead: limits then hold per process rather
than not at all.
"""

from __future__ import annotations

import uuid

import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError

from agent.live.limits import InMemoryRateLimiter

log = structlog.get_logger(__name__)

# KEYS[1]: the key. ARGV: limit, window in ms, a unique member, 1 to count the event (0: only ask).
# Returns -1 when allowed, else the milliseconds until the oldest event leaves the window.
SLIDING_WINDOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return math.max(1, tonumber(oldest[2]) + window - now)
end
if ARGV[4] == '1' then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], window)
end
return -1
"""


class RedisRateLimiter:
    def __init__(self, client: Redis, prefix: str = "switchboard") -> None:
        self.client = client
        self.key_prefix = f"{prefix}:limits:"
        self._script = client.register_script(SLIDING_WINDOW)
        self._fallback = InMemoryRateLimiter()

    async def hit(self, key: str, limit: int, window_s: float) -> float | None:
        return await self._run(key, limit, window_s, count=True)

    async def wait(self, key: str, limit: int, window_s: float) -> float | None:
        return await self._run(key, limit, window_s, count=False)

    async def clear(self, key: str) -> None:
        await self._fallback.clear(key)
        try:
            await self.client.delete(self.key_prefix + key)
        except RedisError as exc:
            log.warning("rate_limit_unshared", key=key, error=str(exc))

    async def _run(self, key: str, limit: int, window_s: float, count: bool) -> float | None:
        args = [limit, max(1, round(window_s * 1000)), uuid.uuid4().hex, 1 if count else 0]
        try:
            waited_ms = await self._script(keys=[self.key_prefix + key], args=args)
        except RedisError as exc:
            log.warning("rate_limit_unshared", key=key, error=str(exc))
            check = self._fallback.hit if count else self._fallback.wait
            return await check(key, limit, window_s)
        return None if int(waited_ms) < 0 else int(waited_ms) / 1000

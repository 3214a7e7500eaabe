"""The conversation line of `agent.live.locks`, shared by every server process through Redis.

Per conversation, four keys (one hash slot): a counter of arrivals, the arrivals whose save is
in flight (scored by arrival number), the line itself (scored by order) and every entry's lease
(scored by expiry). Each step is one Lua script, so no two processes see a half-made change.
A process renews its entries' leases in the background; a process that dies stops renewing,
and the next look at the line drops its entries once their lease has run out.

Nobody polls: every change is announced on one pub/sub channel, and a waiter looks again when
its conversation is named, or when the first lease in its way would run out (a dead process
says nothing).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import uuid
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager

import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError

from agent.live.locks import Place, hold_after_line
from agent.tasks import BackgroundTasks

log = structlog.get_logger(__name__)

# Keys outlive every lease by far; they only keep a line that nobody finished from lingering.
KEY_TTL_MS = 3_600_000

# Leases are stamped and read with Redis's clock, so processes whose clocks differ agree on them.
_NOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
"""

# Drops the entries whose lease ran out (KEYS 2-4: saving, order, leases); true if any.
_REAP = """
local dead = redis.call('ZRANGEBYSCORE', KEYS[4], '-inf', '(' .. now)
for _, m in ipairs(dead) do
  redis.call('ZREM', KEYS[2], m)
  redis.call('ZREM', KEYS[3], m)
  redis.call('ZREM', KEYS[4], m)
end
local reaped = #dead > 0
"""

_ARRIVE = _NOW + """
local n = redis.call('INCR', KEYS[1])
redis.call('ZADD', KEYS[2], n, ARGV[1])
redis.call('ZADD', KEYS[4], now + tonumber(ARGV[2]), ARGV[1])
for i = 1, 4 do redis.call('PEXPIRE', KEYS[i], ARGV[3]) end
return n
"""

_QUEUE = _NOW + """
redis.call('ZREM', KEYS[2], ARGV[1])
local order = tonumber(ARGV[2])
if order == nil then
  local last = redis.call('ZRANGE', KEYS[3], -1, -1, 'WITHSCORES')
  order = (tonumber(last[2]) or 0) + 0.001
end
redis.call('ZADD', KEYS[3], order, ARGV[1])
redis.call('ZADD', KEYS[4], now + tonumber(ARGV[3]), ARGV[1])
for i = 1, 4 do redis.call('PEXPIRE', KEYS[i], ARGV[4]) end
redis.call('PUBLISH', ARGV[5], ARGV[6])
return {tostring(order), tonumber(redis.call('GET', KEYS[1]) or '0')}
"""

# -> {1} first in line; {0, soonest lease expiry in ms from now} wait; {-1} this entry was dropped.
_CHECK = _NOW + _REAP + """
if reaped then redis.call('PUBLISH', ARGV[3], ARGV[4]) end
if not redis.call('ZSCORE', KEYS[3], ARGV[1]) then return {-1, 0} end
local head = redis.call('ZRANGE', KEYS[3], 0, 0)[1]
local saving = redis.call('ZCOUNT', KEYS[2], '-inf', ARGV[2])
if head == ARGV[1] and saving == 0 then return {1, 0} end
local soonest = tonumber(redis.call('ZRANGE', KEYS[4], 0, 0, 'WITHSCORES')[2])
return {0, soonest and (soonest - now) or 0}
"""

_QUEUED = _NOW + _REAP + """
if reaped then redis.call('PUBLISH', ARGV[2], ARGV[3]) end
return redis.call('ZCOUNT', KEYS[3], ARGV[1], ARGV[1])
"""

# KEYS[1] the leases; ARGV[1] the lease in ms, then members: 1 for each one still there.
_RENEW = _NOW + """
local kept = {}
for i = 2, #ARGV do
  kept[i - 1] = redis.call('ZADD', KEYS[1], 'XX', 'CH', now + tonumber(ARGV[1]), ARGV[i])
end
redis.call('PEXPIRE', KEYS[1], 3600000)
return kept
"""

_LEAVE = """
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('ZREM', KEYS[4], ARGV[1])
redis.call('PUBLISH', ARGV[2], ARGV[3])
return 1
"""


class _Wakeups:
    """A version number per conversation someone here waits on, bumped whenever its line may
    have changed; each conversation has its own condition, so a change wakes only its waiters."""

    def __init__(self) -> None:
        self._versions: dict[str, int] = {}
        self._conditions: dict[str, asyncio.Condition] = {}

    def version(self, conversation_id: str) -> int:
        """The current version; from now on, changes to this conversation are counted."""
        if conversation_id not in self._versions:
            self._versions[conversation_id] = 0
            self._conditions[conversation_id] = asyncio.Condition()
        return self._versions[conversation_id]

    async def bump(self, conversation_id: str | None = None) -> None:
        """One conversation, or all of them (after the channel was lost, anything may have changed)."""
        names = list(self._versions) if conversation_id is None else [conversation_id]
        for name in names:
            condition = self._conditions.get(name)
            if condition is None:
                continue  # nobody here waits on it: the channel names every conversation's changes
            self._versions[name] += 1
            async with condition:
                condition.notify_all()

    async def wait(self, conversation_id: str, seen: int, timeout_s: float) -> None:
        condition = self._conditions.get(conversation_id)
        if condition is None:
            return
        async with condition:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(condition.wait_for(lambda: self._versions.get(conversation_id) != seen), timeout_s)

    def forget(self, conversation_id: str) -> None:
        self._versions.pop(conversation_id, None)
        self._conditions.pop(conversation_id, None)


class _RedisPlace:
    def __init__(self, owner: RedisLocks, conversation_id: str, member: str) -> None:
        self._owner = owner
        self.conversation_id = conversation_id
        self.member = member
        self._order: str | None = None
        self._horizon = 0
        self._left = False

    async def queue(self, order: int | None = None) -> None:
        owner = self._owner
        placed, horizon = await owner._queue(self.conversation_id, self.member, None if order is None else str(order))
        self._order, self._horizon = placed.decode() if isinstance(placed, bytes) else str(placed), int(horizon)

    async def reached(self) -> None:
        owner = self._owner
        while True:
            seen = owner._wakeups.version(self.conversation_id)
            status, soonest = await owner._check(self.conversation_id, self.member, self._horizon)
            if status == 1:
                return
            if status == -1:
                # Our lease ran out (this process stalled): take the same place again.
                log.warning("conversation_place_lost", conversation_id=self.conversation_id)
                await owner._requeue(self.conversation_id, self.member, self._order or "0")
                continue
            # Woken by a change; else when the first lease in the way runs out (a dead process says nothing).
            wait_s = max(0.005, soonest / 1000) if soonest else owner.lease_s
            await owner._wakeups.wait(self.conversation_id, seen, min(wait_s, owner.lease_s))

    async def leave(self) -> None:
        if self._left:
            return
        self._left = True
        await self._owner._leave(self)


class RedisLocks:
    def __init__(self, client: Redis, prefix: str = "switchboard", lease_s: float = 15.0) -> None:
        self.client = client
        self.prefix = prefix
        self.lease_s = lease_s
        self.channel = f"{prefix}:lines"
        self._process = uuid.uuid4().hex[:12]
        self._numbers = itertools.count()
        self._mine: dict[str, _RedisPlace] = {}  # member -> place, for the lease renewals
        self._wakeups = _Wakeups()
        self._arrive_script = client.register_script(_ARRIVE)
        self._queue_script = client.register_script(_QUEUE)
        self._check_script = client.register_script(_CHECK)
        self._leave_script = client.register_script(_LEAVE)
        self._queued_script = client.register_script(_QUEUED)
        self._renew_script = client.register_script(_RENEW)
        self._tasks = BackgroundTasks("redis_lines")
        self._listening = asyncio.Event()

    # -- lifecycle --------------------------------------------------------------------------

    async def start(self) -> None:
        """Listen for changes and keep leases; returns once subscribed."""
        self._tasks.spawn(self._listen(), "redis_lines_listener")
        self._tasks.spawn(self._renew(), "redis_lines_renewal")
        await self._listening.wait()

    async def close(self) -> None:
        # Bounded: a cancellation that lands inside the Redis client's read can be swallowed there.
        await self._tasks.close(stop_s=2)
        # Places still held (turns cut short by shutdown) free the line now, not a lease later.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(2):
                for place in list(self._mine.values()):
                    await place.leave()

    # -- the line ---------------------------------------------------------------------------

    async def arrive(self, conversation_id: str) -> Place:
        member = f"{self._process}:{next(self._numbers)}"
        place = _RedisPlace(self, conversation_id, member)
        self._mine[member] = place
        try:
            await self._arrive_script(keys=self._keys(conversation_id), args=[member, self._lease_ms, KEY_TTL_MS])
        except BaseException:
            self._mine.pop(member, None)
            raise
        return place

    def hold(self, conversation_id: str) -> AbstractAsyncContextManager[None]:
        return hold_after_line(self, conversation_id)

    async def _queue(self, conversation_id: str, member: str, order: str | None) -> tuple[object, int]:
        placed, horizon = await self._queue_script(
            keys=self._keys(conversation_id),
            args=[member, order if order is not None else "", self._lease_ms, KEY_TTL_MS, self.channel, conversation_id],
        )
        return placed, int(horizon)

    async def _requeue(self, conversation_id: str, member: str, order: str) -> None:
        await self._queue(conversation_id, member, order)

    async def _check(self, conversation_id: str, member: str, horizon: int) -> tuple[int, int]:
        status, soonest = await self._check_script(
            keys=self._keys(conversation_id), args=[member, horizon, self.channel, conversation_id]
        )
        return int(status), int(soonest)

    async def is_queued(self, conversation_id: str, order: int) -> bool:
        count = await self._queued_script(keys=self._keys(conversation_id), args=[order, self.channel, conversation_id])
        return int(count) > 0

    async def _leave(self, place: _RedisPlace) -> None:
        self._mine.pop(place.member, None)
        try:
            await self._leave_script(keys=self._keys(place.conversation_id), args=[place.member, self.channel, place.conversation_id])
        except RedisError:
            # The turn is stored; the lease frees the place if Redis did not take the leave.
            log.warning("conversation_place_leave_failed", conversation_id=place.conversation_id, exc_info=True)
        await self._wakeups.bump(place.conversation_id)
        if not any(p.conversation_id == place.conversation_id for p in self._mine.values()):
            self._wakeups.forget(place.conversation_id)

    def _keys(self, conversation_id: str) -> list[str]:
        base = f"{self.prefix}:line:{{{conversation_id}}}"
        return [f"{base}:arrivals", f"{base}:saving", f"{base}:order", f"{base}:leases"]

    @property
    def _lease_ms(self) -> int:
        return int(self.lease_s * 1000)

    # -- background -------------------------------------------------------------------------

    async def _listen(self) -> None:
        delay = 0.1
        while True:
            pubsub = self.client.pubsub()
            try:
                await pubsub.subscribe(self.channel)  # before anyone looks at a line: no change is missed
                self._listening.set()
                await self._wakeups.bump()  # what changed while we were not listening
                delay = 0.1
                async for message in pubsub.listen():
                    if message.get("type") == "message":
                        data = message["data"]
                        await self._wakeups.bump(data.decode() if isinstance(data, bytes) else str(data))
            except (RedisError, OSError):
                log.warning("line_listener_lost", retry_in_s=delay, exc_info=True)
            finally:
                self._listening.set()  # start-up must not hang on an unreachable Redis
                with contextlib.suppress(RedisError, OSError):
                    await pubsub.aclose()
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)

    async def _renew(self) -> None:
        """Every entry this process holds keeps its lease while the process lives."""
        while True:
            await asyncio.sleep(self.lease_s / 3)
            places = list(self._mine.values())
            if not places:
                continue
            by_conversation: dict[str, list[str]] = {}
            for place in places:
                by_conversation.setdefault(place.conversation_id, []).append(place.member)
            try:
                # Bounded, so one stalled call cannot outlast the leases it is renewing.
                async with asyncio.timeout(self.lease_s / 3):
                    async with self.client.pipeline(transaction=False) as pipe:
                        for conversation_id, members in by_conversation.items():
                            await self._renew_script(keys=[self._keys(conversation_id)[3]], args=[self._lease_ms, *members], client=pipe)
                        await pipe.execute()
            except (RedisError, TimeoutError):
                log.warning("conversation_lease_renew_failed", exc_info=True)

"""Per-conversation locks across server processes, held in Redis.

A process first queues its own coroutines on an in-process lock, so only one of them at a time
waits on Redis. The Redis lock has a short lease that a background task keeps renewing while
the turn runs; a process that dies lets go when the lease runs out.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog
from redis.asyncio import Redis
from redis.asyncio.lock import Lock
from redis.exceptions import LockError, RedisError

from agent.locks import InProcessLocks

log = structlog.get_logger(__name__)


class RedisLocks:
    def __init__(self, client: Redis, prefix: str = "switchboard", lease_s: float = 15.0) -> None:
        self.client = client
        self.key_prefix = f"{prefix}:lock:"
        self.lease_s = lease_s
        self._local = InProcessLocks()

    @asynccontextmanager
    async def hold(self, conversation_id: str) -> AsyncIterator[None]:
        async with self._local.hold(conversation_id):
            lock = Lock(self.client, self.key_prefix + conversation_id, timeout=self.lease_s, sleep=0.01, thread_local=False)
            await lock.acquire()
            renew = asyncio.create_task(self._renew(lock))
            try:
                yield
            finally:
                renew.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await renew
                try:
                    await lock.release()
                except (LockError, RedisError):
                    # The turn is stored; the lease frees the lock if Redis did not take the release.
                    log.warning("conversation_lock_release_failed", conversation_id=conversation_id, exc_info=True)

    async def _renew(self, lock: Lock) -> None:
        """Keep the lease while the turn runs; a Redis blip is retried until the lease is really gone."""
        while True:
            await asyncio.sleep(self.lease_s / 3)
            try:
                await lock.reacquire()
            except LockError:
                log.warning("conversation_lock_lost")
                return
            except RedisError:
                log.warning("conversation_lock_renew_failed", exc_info=True)

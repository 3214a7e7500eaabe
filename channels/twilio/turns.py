"""Turns that must answer inside a webhook's deadline but keep running when they do not.

Twilio gives a webhook 15 seconds. A turn is started as a task and waited for up to a deadline;
a late one is not cancelled (its answer is stored and delivered another way), and can be found
again by its key when Twilio comes back for it. The tasks themselves are kept, logged and
stopped by agent.tasks; this adds the keys.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Hashable
from typing import Any, Generic, TypeVar

from agent.tasks import BackgroundTasks

T = TypeVar("T")


class PendingTurns(Generic[T]):
    def __init__(self, name: str) -> None:
        self.name = name
        self._tasks = BackgroundTasks(name)
        self._by_key: dict[Hashable, asyncio.Task[T]] = {}

    def start(self, key: Hashable, work: Coroutine[Any, Any, T], keep: bool = False) -> asyncio.Task[T]:
        """Run `work` under `key` (the running one, if that key is already running).

        With `keep`, a finished task stays until `forget` (someone will come back for its
        result, and takes its failure too); otherwise it is dropped as soon as it finishes, and
        a failure is logged.
        """
        running = self._by_key.get(key)
        if running is not None and not running.done():
            work.close()
            return running
        task = self._tasks.spawn(work, self.name, report=not keep, key=str(key))
        self._by_key[key] = task
        if not keep:
            task.add_done_callback(lambda done: self._drop(key, done))
        return task

    def _drop(self, key: Hashable, task: asyncio.Task[T]) -> None:
        if self._by_key.get(key) is task:
            del self._by_key[key]

    def get(self, key: Hashable) -> asyncio.Task[T] | None:
        return self._by_key.get(key)

    def forget(self, key: Hashable) -> None:
        self._by_key.pop(key, None)

    def forget_where(self, match: Callable[[Hashable], bool]) -> None:
        """Drop the matching keys; a turn still running finishes, and nobody coming back for
        it now, its failure is logged."""
        for key in [k for k in self._by_key if match(k)]:
            task = self._by_key.pop(key)
            if not task.done():
                self._tasks.report(task)

    def __len__(self) -> int:
        return len(self._by_key)

    async def close(self, grace_s: float = 5.0) -> None:
        """On shutdown: let running turns finish (their answers are stored), cancel what will not."""
        await self._tasks.close(grace_s)
        self._by_key.clear()

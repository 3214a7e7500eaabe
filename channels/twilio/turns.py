"""Turns that must answer inside a webhook's deadline but keep running when they do not.

Twilio gives a webhook 15 seconds. A turn is started as a task and waited for up to a deadline;
a late one is not cancelled (its answer is stored and delivered another way), and can be found
again by its key when Twilio comes back for it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

import structlog

log = structlog.get_logger(__name__)
T = TypeVar("T")


class PendingTurns(Generic[T]):
    def __init__(self) -> None:
        self._tasks: dict[Hashable, asyncio.Task[T]] = {}

    def start(self, key: Hashable, work: Awaitable[T], keep: bool = False) -> asyncio.Task[T]:
        """Run `work` under `key` (the running one, if that key is already running).

        With `keep`, a finished task stays until `forget` (someone will come back for its
        result); otherwise it is dropped as soon as it finishes.
        """
        running = self._tasks.get(key)
        if running is not None and not running.done():
            if asyncio.iscoroutine(work):
                work.close()
            return running
        task: asyncio.Task[T] = asyncio.ensure_future(work)
        self._tasks[key] = task
        if not keep:
            task.add_done_callback(lambda done: self._drop(key, done))
        return task

    def _drop(self, key: Hashable, task: asyncio.Task[T]) -> None:
        if self._tasks.get(key) is task:
            del self._tasks[key]
        if not task.cancelled() and task.exception() is not None:
            log.error("background_turn_failed", key=str(key), error=repr(task.exception()))

    def get(self, key: Hashable) -> asyncio.Task[T] | None:
        return self._tasks.get(key)

    def forget(self, key: Hashable) -> None:
        self._tasks.pop(key, None)

    def forget_where(self, match: Callable[[Hashable], bool]) -> None:
        for key in [k for k in self._tasks if match(k)]:
            task = self._tasks.pop(key)
            if task.done():
                continue
            # Still running: keep a reference until it finishes, so it is not garbage-collected.
            finishing = ("finishing", key)
            self._tasks[finishing] = task
            task.add_done_callback(lambda done, k=finishing: self._drop(k, done))

    def __len__(self) -> int:
        return len(self._tasks)

    async def close(self, grace_s: float = 5.0) -> None:
        """On shutdown: let running turns finish (their answers are stored), cancel what will not."""
        running = [t for t in self._tasks.values() if not t.done()]
        if running:
            _, late = await asyncio.wait(running, timeout=grace_s)
            for task in late:
                task.cancel()
            for task in late:
                with contextlib.suppress(BaseException):
                    await task
        self._tasks.clear()


async def within(task: asyncio.Task[T], deadline_s: float) -> T | None:
    """The task's result if it finishes within the deadline, else None (it keeps running).

    A task that failed raises here, as `await task` would.
    """
    done, _ = await asyncio.wait({task}, timeout=deadline_s)
    return task.result() if done else None

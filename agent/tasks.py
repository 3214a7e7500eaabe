"""Tasks that run beside the code that started them: kept, reported when they fail, stopped on close.

asyncio holds only a weak reference to a task, so one nobody keeps can be collected mid-run;
an exception nobody awaits surfaces, if at all, as "never retrieved" when it is collected.
`BackgroundTasks` keeps each task until it is done, logs what escapes it with the names it was
given, and on close lets the tasks finish for a while, then cancels the rest and waits for them,
within a bound. `while_serving` runs one for as long as the server does.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

import structlog

log = structlog.get_logger(__name__)
T = TypeVar("T")

# How long close waits for cancelled tasks: a cancellation that lands inside a client's read
# can be swallowed there, and shutdown must not hang on it.
STOP_S = 5.0


@dataclass(slots=True)
class _Kept:
    name: str
    context: dict[str, object] = field(default_factory=dict)
    report: bool = True


class BackgroundTasks:
    """A set of named tasks, each kept until it is done. `name` says whose they are in the logs."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._tasks: dict[asyncio.Task[Any], _Kept] = {}

    def spawn(self, work: Coroutine[Any, Any, T], name: str, *, report: bool = True, **context: object) -> asyncio.Task[T]:
        """Run `work` as a task named `name`. An exception that escapes it is logged with `context`,
        unless `report` is off: then whoever awaits the task takes its failure (see `report`)."""
        task = asyncio.create_task(work, name=name)
        self._tasks[task] = _Kept(name, context, report)
        task.add_done_callback(self._done)
        return task

    def report(self, task: asyncio.Task[Any]) -> None:
        """Log this task's failure after all: nobody is going to await it now."""
        kept = self._tasks.get(task)
        if kept is not None:
            kept.report = True

    def _done(self, task: asyncio.Task[Any]) -> None:
        kept = self._tasks.pop(task)
        if kept.report and not task.cancelled() and (error := task.exception()) is not None:
            log.error("background_task_failed", tasks=self.name, task=kept.name, **kept.context, exc_info=error)

    def __len__(self) -> int:
        """How many tasks are still running."""
        return len(self._tasks)

    async def wait(self, timeout_s: float) -> None:
        """Wait up to `timeout_s` for the running tasks to finish; those that do not keep running."""
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=timeout_s)

    async def close(self, grace_s: float = 0.0, stop_s: float = STOP_S) -> None:
        """Let the running tasks finish for `grace_s`, then cancel the rest and wait `stop_s` for them."""
        if grace_s > 0:
            await self.wait(grace_s)
        running = list(self._tasks)
        if not running:
            return
        for task in running:
            task.cancel()
        _, stuck = await asyncio.wait(running, timeout=stop_s)
        if stuck:
            log.warning("background_tasks_not_stopped", tasks=self.name, names=sorted(t.get_name() for t in stuck))


async def within(task: asyncio.Task[T], deadline_s: float) -> T | None:
    """The task's result if it finishes within the deadline, else None (it keeps running).

    A task that failed raises here, as `await task` would.
    """
    done, _ = await asyncio.wait({task}, timeout=deadline_s)
    return task.result() if done else None


def while_serving(name: str, run: Callable[[], Coroutine[Any, Any, None]]) -> Callable[[object], AsyncIterator[None]]:
    """A cleanup context (aiohttp's `app.cleanup_ctx`) that runs `run()` from start-up until shutdown."""

    async def context(_app: object) -> AsyncIterator[None]:
        tasks = BackgroundTasks(name)
        tasks.spawn(run(), name)
        yield
        await tasks.close()

    return context

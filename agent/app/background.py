"""Background tasks that live from start-up until shutdown, as aiohttp cleanup contexts."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

from aiohttp import web


def background_ctx(run: Callable[[], Awaitable[None]]) -> Callable[[web.Application], AsyncIterator[None]]:
    """A cleanup context that runs `run()` as a task from start-up until shutdown."""

    async def context(app: web.Application) -> AsyncIterator[None]:
        task = asyncio.create_task(run())
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    return context

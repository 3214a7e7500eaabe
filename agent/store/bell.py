"""The outbox's bell: rung after a commit that queued something, so a sender need not wait for its next poll."""

from __future__ import annotations

import asyncio
import contextlib


class OutboxBell:
    """Rung after a commit that queued something, so the sender need not wait for its next poll."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def ring(self) -> None:
        self._event.set()

    async def wait(self, timeout: float) -> None:
        # asyncio.timeout, not wait_for: on 3.11 wait_for swallows a cancel that lands as the
        # bell rings, and the sender's loop would then never stop.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await self._event.wait()
        self._event.clear()

"""Sliding-window rate limits in this process's memory (one server process)."""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable


class InMemoryRateLimiter:
    """Keeps the times of recent events per key; the least recently used keys go past `max_keys`,
    so a flood of new addresses cannot grow memory without bound."""

    def __init__(self, max_keys: int = 100_000, clock: Callable[[], float] = time.monotonic) -> None:
        self.max_keys = max_keys
        self.clock = clock
        self._events: OrderedDict[str, deque[float]] = OrderedDict()

    async def hit(self, key: str, limit: int, window_s: float) -> float | None:
        return self._check(key, limit, window_s, count=True)

    async def wait(self, key: str, limit: int, window_s: float) -> float | None:
        return self._check(key, limit, window_s, count=False)

    async def clear(self, key: str) -> None:
        self._events.pop(key, None)

    def _check(self, key: str, limit: int, window_s: float, count: bool) -> float | None:
        now = self.clock()
        events = self._events.get(key)
        if events is not None:
            while events and events[0] <= now - window_s:
                events.popleft()
            if len(events) >= limit:
                return events[0] + window_s - now
        if not count:
            return None
        if events is None:
            events = self._events[key] = deque(maxlen=limit)
        events.append(now)
        self._events.move_to_end(key)
        while len(self._events) > self.max_keys:
            self._events.popitem(last=False)
        return None

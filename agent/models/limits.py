"""Requests- and tokens-per-minute limits with a short, bounded, first-come queue.

A call that would wait longer than `max_wait_s`, or find `max_queue` calls already waiting, is
refused at once (the chain moves on) rather than piling up behind a limit it cannot beat.
"""

from __future__ import annotations

import asyncio
import time


class Throttled(Exception):
    pass


class _Bucket:
    """A token bucket refilled continuously at `per_minute / 60` per second."""

    def __init__(self, per_minute: int) -> None:
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self.level = self.capacity
        self.stamp = time.monotonic()

    def refill(self, now: float) -> None:
        self.level = min(self.capacity, self.level + (now - self.stamp) * self.rate)
        self.stamp = now

    def wait_for(self, amount: float) -> float:
        # A request larger than the whole bucket waits for a full bucket, then overdraws it.
        need = min(amount, self.capacity) - self.level
        return max(0.0, need / self.rate)


class RateLimiter:
    def __init__(self, rpm: int | None = None, tpm: int | None = None, max_queue: int = 8, max_wait_s: float = 1.0) -> None:
        self._requests = _Bucket(rpm) if rpm else None
        self._tokens = _Bucket(tpm) if tpm else None
        self.max_queue = max_queue
        self.max_wait_s = max_wait_s
        self._lock = asyncio.Lock()  # fair (FIFO): the queue
        self.waiting = 0

    @property
    def active(self) -> bool:
        return self._requests is not None or self._tokens is not None

    async def acquire(self, tokens: int) -> None:
        """Take one request and `tokens` (an estimate), waiting in line briefly if need be."""
        if not self.active:
            return
        if not self.waiting and self._wait(tokens) == 0:
            # Nobody in line and nothing to wait for: no place in the queue is needed.
            self._take(1, tokens)
            return
        if not self.max_queue:
            raise Throttled(f"the rate limit frees up in {self._wait(tokens):.2f}s and no call may wait (queue: 0)")
        if self.waiting >= self.max_queue:
            raise Throttled(f"{self.waiting} calls already waiting for the rate limit")
        self.waiting += 1
        try:
            async with self._lock:
                wait = self._wait(tokens)
                if wait > self.max_wait_s:
                    raise Throttled(f"the rate limit frees up in {wait:.2f}s, more than {self.max_wait_s}s")
                if wait > 0:
                    await asyncio.sleep(wait)
                    self._wait(tokens)
                self._take(1, tokens)
        finally:
            self.waiting -= 1

    def settle(self, estimated: int, actual: int) -> None:
        """Charge the difference once the provider has said how many tokens the call used."""
        if self._tokens is not None:
            self._tokens.level -= actual - estimated

    def _wait(self, tokens: int) -> float:
        now = time.monotonic()
        waits = [0.0]
        if self._requests is not None:
            self._requests.refill(now)
            waits.append(self._requests.wait_for(1))
        if self._tokens is not None:
            self._tokens.refill(now)
            waits.append(self._tokens.wait_for(tokens))
        return max(waits)

    def _take(self, requests: int, tokens: int) -> None:
        if self._requests is not None:
            self._requests.level -= requests
        if self._tokens is not None:
            self._tokens.level -= tokens

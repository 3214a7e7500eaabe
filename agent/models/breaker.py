"""A circuit breaker per deployment: stop calling what keeps failing, probe it now and then."""

from __future__ import annotations

import enum
import time
from collections import deque
from collections.abc import Callable


class BreakerState(str, enum.Enum):
    CLOSED = "closed"  # calls flow
    OPEN = "open"  # calls are refused at once until the cooldown is over
    HALF_OPEN = "half_open"  # one probe call is let through; its outcome decides


class CircuitBreaker:
    """Opens after `failures` failures within `window_s`; after `cooldown_s` lets one probe
    through: a success closes it, a failure opens it again for another cooldown."""

    def __init__(
        self, failures: int = 5, window_s: float = 30.0, cooldown_s: float = 15.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.failures = failures
        self.window_s = window_s
        self.cooldown_s = cooldown_s
        self._clock = clock
        self._recent: deque[float] = deque(maxlen=max(1, failures))
        self._state = BreakerState.CLOSED
        self._opened_at = 0.0
        self._probing = False
        self.times_opened = 0

    @property
    def state(self) -> BreakerState:
        if self._state is BreakerState.OPEN and self._clock() - self._opened_at >= self.cooldown_s:
            return BreakerState.HALF_OPEN
        return self._state

    def allow(self) -> bool:
        """May a call go out now? In half-open state only one (the probe) may."""
        state = self.state
        if state is BreakerState.CLOSED:
            return True
        if state is BreakerState.OPEN or self._probing:
            return False
        self._state, self._probing = BreakerState.HALF_OPEN, True
        return True

    def available(self) -> bool:
        """Would `allow()` say yes (without taking the probe)?"""
        state = self.state
        return state is BreakerState.CLOSED or (state is BreakerState.HALF_OPEN and not self._probing)

    def record_success(self) -> None:
        if self._state is not BreakerState.CLOSED:
            self._state = BreakerState.CLOSED
            self._recent.clear()
        self._probing = False

    def record_failure(self) -> None:
        now = self._clock()
        if self._state is BreakerState.HALF_OPEN:
            self._open(now)
            return
        self._recent.append(now)
        if len(self._recent) >= self.failures and now - self._recent[0] <= self.window_s:
            self._open(now)

    def release(self) -> None:
        """The probe ended without a verdict (cancelled, or refused for a reason of its own)."""
        self._probing = False
        if self._state is BreakerState.HALF_OPEN:
            self._state, self._opened_at = BreakerState.OPEN, self._clock() - self.cooldown_s

    def _open(self, now: float) -> None:
        self._state, self._opened_at, self._probing = BreakerState.OPEN, now, False
        self._recent.clear()
        self.times_opened += 1

"""A circuit breaker per deployment: stop calling what keeps failing, probe it now and then.

Each call let through gets a ticket naming the breaker's state at that moment; its outcome
counts only if the breaker has not changed state since. A slow call let through before the
breaker opened says nothing about the deployment now: it neither closes an open breaker nor
opens it again (restarting the cooldown), and only the probe decides a half-open one.
"""

from __future__ import annotations

import enum
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass


class BreakerState(str, enum.Enum):
    CLOSED = "closed"  # calls flow
    OPEN = "open"  # calls are refused at once until the cooldown is over
    HALF_OPEN = "half_open"  # one probe call is let through; its outcome decides


@dataclass(frozen=True, slots=True)
class Ticket:
    """One call let through: in which period of the breaker, and whether it is the probe."""

    epoch: int
    probe: bool = False


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
        # HALF_OPEN here only while the probe is out; `state` reports an OPEN breaker whose
        # cooldown is over as HALF_OPEN too, ready to let one through.
        self._state = BreakerState.CLOSED
        self._opened_at = 0.0
        self._epoch = 0  # moves on at every change of state: older tickets no longer count
        self.times_opened = 0

    @property
    def _probing(self) -> bool:
        return self._state is BreakerState.HALF_OPEN

    @property
    def state(self) -> BreakerState:
        if self._state is BreakerState.OPEN and self._clock() - self._opened_at >= self.cooldown_s:
            return BreakerState.HALF_OPEN
        return self._state

    def admit(self) -> Ticket | None:
        """A ticket if a call may go out now, else None. In half-open state only one (the
        probe) may."""
        state = self.state
        if state is BreakerState.CLOSED:
            return Ticket(self._epoch)
        if state is BreakerState.OPEN or self._probing:
            return None
        self._state = BreakerState.HALF_OPEN
        self._epoch += 1  # the probe's verdict is the only one that counts from here
        return Ticket(self._epoch, probe=True)

    def available(self) -> bool:
        """Would `admit()` say yes (without taking the probe)?"""
        state = self.state
        return state is BreakerState.CLOSED or (state is BreakerState.HALF_OPEN and not self._probing)

    def record_success(self, ticket: Ticket) -> None:
        if ticket.epoch != self._epoch:
            return
        if ticket.probe:
            self._state = BreakerState.CLOSED
            self._recent.clear()
            self._epoch += 1

    def record_failure(self, ticket: Ticket) -> None:
        if ticket.epoch != self._epoch:
            return
        now = self._clock()
        if ticket.probe:
            self._open(now)
            return
        self._recent.append(now)
        if len(self._recent) >= self.failures and now - self._recent[0] <= self.window_s:
            self._open(now)

    def release(self, ticket: Ticket) -> None:
        """The call ended without a verdict (cancelled, or refused for a reason of its own);
        if it was the probe, the next call may probe instead."""
        if ticket.epoch != self._epoch or not ticket.probe:
            return
        self._state, self._opened_at = BreakerState.OPEN, self._clock() - self.cooldown_s
        self._epoch += 1

    def _open(self, now: float) -> None:
        self._state, self._opened_at = BreakerState.OPEN, now
        self._recent.clear()
        self._epoch += 1
        self.times_opened += 1

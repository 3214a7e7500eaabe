"""Slows password guessing at the staff sign-in: too many failures lock a username or an address for a while.

Per process and in memory: several processes each allow the limit, which still turns a brute
force into a crawl. Successful sign-ins clear their username's count.
"""

from __future__ import annotations

import ipaddress
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Sequence


class LoginThrottle:
    def __init__(
        self,
        per_username: int = 5,
        per_address: int = 20,
        window_s: float = 900.0,
        max_keys: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limits = {"user": per_username, "addr": per_address}
        self.window_s = window_s
        self.max_keys = max_keys
        self.clock = clock
        self._failures: OrderedDict[tuple[str, str], deque[float]] = OrderedDict()

    @staticmethod
    def keys(username: str, address: str | None) -> list[tuple[str, str]]:
        return [("user", username.strip().lower()), ("addr", address or "?")]

    def retry_after(self, keys: Iterable[tuple[str, str]]) -> float | None:
        """Seconds until a sign-in may be tried again, or None when it may be tried now."""
        now = self.clock()
        waits = []
        for key in keys:
            failures = self._recent(key, now)
            if failures is not None and len(failures) >= self.limits[key[0]]:
                waits.append(failures[0] + self.window_s - now)
        return max(waits) if waits else None

    def failed(self, keys: Iterable[tuple[str, str]]) -> None:
        now = self.clock()
        for key in keys:
            failures = self._recent(key, now)
            if failures is None:
                failures = self._failures[key] = deque(maxlen=max(self.limits.values()))
            failures.append(now)
            self._failures.move_to_end(key)
        while len(self._failures) > self.max_keys:
            self._failures.popitem(last=False)

    def succeeded(self, username: str) -> None:
        self._failures.pop(("user", username.strip().lower()), None)

    def _recent(self, key: tuple[str, str], now: float) -> deque[float] | None:
        failures = self._failures.get(key)
        if failures is None:
            return None
        while failures and failures[0] <= now - self.window_s:
            failures.popleft()
        return failures


def client_address(remote: str | None, forwarded_for: str | None, trusted_proxies: Sequence[str]) -> str | None:
    """The address a request came from: behind trusted proxies, the last hop they saw that is not one of them.

    X-Forwarded-For is only believed from a trusted proxy; anything a client wrote into it
    itself sits to the left of what the proxies appended and is never reached.
    """
    networks = [ipaddress.ip_network(p, strict=False) for p in trusted_proxies]

    def trusted(address: str | None) -> bool:
        try:
            return address is not None and any(ipaddress.ip_address(address) in n for n in networks)
        except ValueError:
            return False

    if not trusted(remote) or not forwarded_for:
        return remote
    hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not trusted(hop):
            return hop
    return hops[0] if hops else remote

"""Slows password guessing at the staff sign-in: too many failures lock a username or an address for a while.

The failures are counted by the shared rate limiter: with Redis, every server process counts
against one limit. Successful sign-ins clear their username's count.
"""

from __future__ import annotations

from collections.abc import Iterable

from agent.contracts import RateLimiter


class LoginThrottle:
    def __init__(self, limiter: RateLimiter, per_username: int = 5, per_address: int = 20, window_s: float = 900.0) -> None:
        self.limiter = limiter
        self.limits = {"user": per_username, "addr": per_address}
        self.window_s = window_s

    @staticmethod
    def keys(username: str, address: str | None) -> list[tuple[str, str]]:
        return [("user", username.strip().lower()), ("addr", address or "?")]

    async def retry_after(self, keys: Iterable[tuple[str, str]]) -> float | None:
        """Seconds until a sign-in may be tried again, or None when it may be tried now."""
        waits = [await self.limiter.wait(_key(key), self.limits[key[0]], self.window_s) for key in keys]
        found = [wait for wait in waits if wait is not None]
        return max(found) if found else None

    async def failed(self, keys: Iterable[tuple[str, str]]) -> None:
        for key in keys:
            await self.limiter.hit(_key(key), self.limits[key[0]], self.window_s)

    async def succeeded(self, username: str) -> None:
        await self.limiter.clear(_key(("user", username.strip().lower())))


def _key(key: tuple[str, str]) -> str:
    kind, value = key
    return f"staff-login:{kind}:{value}"

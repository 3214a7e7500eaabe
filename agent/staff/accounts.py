"""Staff accounts: argon2id password hashes and server-side sessions.

The cookie holds a random token; the database holds only its SHA-256, with the session's
expiry and its CSRF token.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from datetime import timedelta

import structlog
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from agent.contracts import NewSession, StaffMember, StaffRole, StaffSession, utcnow
from agent.store import AccountStore
from agent.store.rows import staff_view
from agent.store.views import as_utc

log = structlog.get_logger(__name__)

MAX_USERNAME = 64
MIN_PASSWORD = 8


class AccountError(ValueError):
    """A staff account cannot be made as asked."""


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class StaffAccounts:
    def __init__(self, store: AccountStore, session_ttl: timedelta, hasher: PasswordHasher | None = None) -> None:
        self.store = store
        self.session_ttl = session_ttl
        self.hasher = hasher or PasswordHasher()
        # Checked against when the username is unknown, so a miss costs as long as a hit.
        self._decoy = self.hasher.hash(secrets.token_urlsafe(16))

    async def add(self, username: str, display_name: str, password: str, role: StaffRole = StaffRole.STAFF) -> StaffMember:
        username = username.strip().lower()
        display_name = display_name.strip()
        if not username or len(username) > MAX_USERNAME or not username.replace(".", "").replace("-", "").replace("_", "").isalnum():
            raise AccountError(f"username must be 1 to {MAX_USERNAME} letters, digits, '.', '-' or '_'")
        if not display_name:
            raise AccountError("display name must not be empty")
        self._check_password(password)
        user = await self.store.add_user(username, display_name, role, await self._hash(password))
        log.info("staff_added", username=username, role=role.value)
        return staff_view(user)

    async def members(self) -> list[StaffMember]:
        return [staff_view(user) for user in await self.store.users()]

    async def set_password(self, username: str, password: str) -> StaffMember:
        """Change a password and sign that person out everywhere."""
        user = await self.store.user_by_username(username.strip().lower())
        if user is None or user.id is None:
            raise AccountError(f"no staff account {username!r}")
        self._check_password(password)
        await self.store.reset_password(user.id, await self._hash(password))
        log.info("staff_password_changed", username=user.username)
        return staff_view(user)

    async def login(self, username: str, password: str) -> NewSession | None:
        user = await self.store.user_by_username(username.strip().lower())
        try:
            # Argon2 takes tens of milliseconds of CPU by design: on the event loop, every other
            # request would wait behind each sign-in.
            await asyncio.to_thread(self.hasher.verify, user.password_hash if user else self._decoy, password)
        except (VerificationError, InvalidHashError):
            log.info("staff_login_failed", username=username[:MAX_USERNAME])
            return None
        if user is None:
            return None
        assert user.id is not None
        if self.hasher.check_needs_rehash(user.password_hash):
            await self.store.set_password_hash(user.id, await self._hash(password))
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        expires_at = utcnow() + self.session_ttl
        await self.store.open_session(token_hash(token), user.id, csrf, expires_at)
        log.info("staff_login", username=user.username)
        return NewSession(token, StaffSession(staff_view(user), csrf, expires_at))

    async def session(self, token: str) -> StaffSession | None:
        found = await self.store.live_session(token_hash(token))
        if found is None:
            return None
        row, user = found
        return StaffSession(staff_view(user), row.csrf_token, as_utc(row.expires_at))

    async def logout(self, token: str) -> None:
        await self.store.close_session(token_hash(token))

    async def _hash(self, password: str) -> str:
        return await asyncio.to_thread(self.hasher.hash, password)

    @staticmethod
    def _check_password(password: str) -> None:
        if len(password) < MIN_PASSWORD:
            raise AccountError(f"password must be at least {MIN_PASSWORD} characters")

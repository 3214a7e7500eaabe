"""Staff accounts: argon2id password hashes and server-side sessions.

The cookie holds a random token; the database holds only its SHA-256, with the session's
expiry and its CSRF token.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from datetime import timedelta
from typing import TYPE_CHECKING

import structlog
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from agent.contracts import NewSession, StaffMember, StaffRole, StaffSession, utcnow

if TYPE_CHECKING:
    # Only for the annotations: accounts work on views, the composition root hands them the store.
    from agent.store.accounts import AccountStore

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
        member = await self.store.add_user(username, display_name, role, await self._hash(password))
        log.info("staff_added", username=username, role=role.value)
        return member

    async def members(self) -> list[StaffMember]:
        return await self.store.users()

    async def set_password(self, username: str, password: str) -> StaffMember:
        """Change a password and sign that person out everywhere."""
        found = await self.store.user_by_username(username.strip().lower())
        if found is None:
            raise AccountError(f"no staff account {username!r}")
        member = found.member
        self._check_password(password)
        await self.store.reset_password(member.id, await self._hash(password))
        log.info("staff_password_changed", username=member.username)
        return member

    async def login(self, username: str, password: str) -> NewSession | None:
        found = await self.store.user_by_username(username.strip().lower())
        try:
            # Argon2 takes tens of milliseconds of CPU by design: on the event loop, every other
            # request would wait behind each sign-in.
            await asyncio.to_thread(self.hasher.verify, found.password_hash if found else self._decoy, password)
        except (VerificationError, InvalidHashError):
            log.info("staff_login_failed", username=username[:MAX_USERNAME])
            return None
        if found is None:
            return None
        member = found.member
        if self.hasher.check_needs_rehash(found.password_hash):
            await self.store.set_password_hash(member.id, await self._hash(password))
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        expires_at = utcnow() + self.session_ttl
        await self.store.open_session(token_hash(token), member.id, csrf, expires_at)
        log.info("staff_login", username=member.username)
        return NewSession(token, StaffSession(member, csrf, expires_at))

    async def session(self, token: str) -> StaffSession | None:
        return await self.store.live_session(token_hash(token))

    async def logout(self, token: str) -> None:
        await self.store.close_session(token_hash(token))

    async def _hash(self, password: str) -> str:
        return await asyncio.to_thread(self.hasher.hash, password)

    @staticmethod
    def _check_password(password: str) -> None:
        if len(password) < MIN_PASSWORD:
            raise AccountError(f"password must be at least {MIN_PASSWORD} characters")

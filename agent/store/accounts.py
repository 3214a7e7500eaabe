"""Staff accounts and their server-side sessions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from agent.contracts import StaffRole, utcnow
from agent.store.database import Database
from agent.store.tables import StaffUser, StaffUserSession
from agent.store.views import as_utc


class UsernameTaken(ValueError):
    """A staff account with that username exists already."""


class AccountStore:
    def __init__(self, database: Database) -> None:
        self.database = database

    async def add_user(self, username: str, display_name: str, role: StaffRole, password_hash: str) -> StaffUser:
        def work(session: Session) -> StaffUser:
            user = StaffUser(username=username, display_name=display_name, role=role.value, password_hash=password_hash)
            session.add(user)
            try:
                session.commit()
            except IntegrityError:
                session.rollback()
                raise UsernameTaken(username) from None
            return user

        return await self.database.run(work)

    async def user_by_username(self, username: str) -> StaffUser | None:
        return await self.database.run(
            lambda session: session.exec(select(StaffUser).where(StaffUser.username == username)).first()
        )

    async def set_password_hash(self, user_id: int, password_hash: str) -> None:
        def work(session: Session) -> None:
            user = session.get(StaffUser, user_id)
            if user is not None:
                user.password_hash = password_hash
                session.commit()

        await self.database.run(work)

    async def users(self) -> list[StaffUser]:
        return await self.database.run(lambda session: list(session.exec(select(StaffUser).order_by(col(StaffUser.username))).all()))

    async def reset_password(self, user_id: int, password_hash: str) -> None:
        """A new password, and every open sign-in of that person ended."""

        def work(session: Session) -> None:
            user = session.get(StaffUser, user_id)
            if user is not None:
                user.password_hash = password_hash
                session.execute(delete(StaffUserSession).where(col(StaffUserSession.staff_id) == user_id))
                session.commit()

        await self.database.run(work)

    async def open_session(self, token_hash: str, staff_id: int, csrf_token: str, expires_at: datetime) -> None:
        def work(session: Session) -> None:
            # Expired sessions are swept here, at sign-in, rather than by a timer.
            session.execute(delete(StaffUserSession).where(col(StaffUserSession.expires_at) < utcnow()))
            session.add(
                StaffUserSession(token_hash=token_hash, staff_id=staff_id, csrf_token=csrf_token, expires_at=expires_at)
            )
            session.commit()

        await self.database.run(work)

    async def live_session(self, token_hash: str) -> tuple[StaffUserSession, StaffUser] | None:
        """The session with that token hash and its user, unless it has expired."""

        def work(session: Session) -> tuple[StaffUserSession, StaffUser] | None:
            row = session.get(StaffUserSession, token_hash)
            if row is None or as_utc(row.expires_at) <= utcnow():
                return None
            user = session.get(StaffUser, row.staff_id)
            return (row, user) if user is not None else None

        return await self.database.run(work)

    async def close_session(self, token_hash: str) -> None:
        def work(session: Session) -> None:
            session.execute(delete(StaffUserSession).where(col(StaffUserSession.token_hash) == token_hash))
            session.commit()

        await self.database.run(work)

"""Staff accounts and their server-side sessions; what leaves here are views, never rows."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from agent.contracts import StaffMember, StaffRole, StaffSession, utcnow
from agent.store.database import Database
from agent.store.rows import staff_view
from agent.store.tables import StaffUser, StaffUserSession
from agent.store.views import StaffLogin, as_utc


class UsernameTaken(ValueError):
    """A staff account with that username exists already."""


class AccountStore:
    def __init__(self, database: Database) -> None:
        self.database = database

    async def add_user(self, username: str, display_name: str, role: StaffRole, password_hash: str) -> StaffMember:
        def work(session: Session) -> StaffMember:
            user = StaffUser(username=username, display_name=display_name, role=role.value, password_hash=password_hash)
            session.add(user)
            try:
                session.commit()
            except IntegrityError:
                session.rollback()
                raise UsernameTaken(username) from None
            return staff_view(user)

        return await self.database.run(work)

    async def user_by_username(self, username: str) -> StaffLogin | None:
        def work(session: Session) -> StaffLogin | None:
            user = session.exec(select(StaffUser).where(StaffUser.username == username)).first()
            return StaffLogin(staff_view(user), user.password_hash) if user else None

        return await self.database.run(work)

    async def set_password_hash(self, user_id: int, password_hash: str) -> None:
        def work(session: Session) -> None:
            user = session.get(StaffUser, user_id)
            if user is not None:
                user.password_hash = password_hash
                session.commit()

        await self.database.run(work)

    async def users(self) -> list[StaffMember]:
        query = select(StaffUser).order_by(col(StaffUser.username))
        return await self.database.run(lambda session: [staff_view(u) for u in session.exec(query).all()])

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

    async def live_session(self, token_hash: str) -> StaffSession | None:
        """The session with that token hash and its staff member, unless it has expired."""

        def work(session: Session) -> StaffSession | None:
            row = session.get(StaffUserSession, token_hash)
            if row is None or as_utc(row.expires_at) <= utcnow():
                return None
            user = session.get(StaffUser, row.staff_id)
            return StaffSession(staff_view(user), row.csrf_token, as_utc(row.expires_at)) if user is not None else None

        return await self.database.run(work)

    async def close_session(self, token_hash: str) -> None:
        def work(session: Session) -> None:
            session.execute(delete(StaffUserSession).where(col(StaffUserSession.token_hash) == token_hash))
            session.commit()

        await self.database.run(work)

"""Opt-outs: a log of keyword messages per address, read as "is this address opted out?"."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from agent.store.database import Database
from agent.store.tables import OptOutEvent

OPT_OUT, OPT_IN, HELP = "opt_out", "opt_in", "help"
ACTIONS = (OPT_OUT, OPT_IN, HELP)


class OptOutStore:
    """The OptOutRegistry on the database: every process sees the same answer."""

    def __init__(self, database: Database) -> None:
        self.database = database

    async def record(self, address: str, action: str, keyword: str, provider_message_id: str | None) -> bool:
        if action not in ACTIONS:
            raise ValueError(f"unknown opt-out action {action!r}")

        def work(session: Session) -> bool:
            session.add(
                OptOutEvent(address=address, action=action, keyword=keyword[:64], provider_message_id=provider_message_id)
            )
            try:
                session.commit()
            except IntegrityError:
                session.rollback()  # this message was recorded before
                return False
            return True

        return await self.database.run(work)

    async def is_opted_out(self, address: str) -> bool:
        query = (
            select(OptOutEvent.action)
            .where(OptOutEvent.address == address, col(OptOutEvent.action).in_([OPT_OUT, OPT_IN]))
            .order_by(col(OptOutEvent.id).desc())
            .limit(1)
        )
        latest = await self.database.run(lambda session: session.exec(query).first())
        return latest == OPT_OUT

    async def events(self, address: str) -> list[OptOutEvent]:
        query = select(OptOutEvent).where(OptOutEvent.address == address).order_by(col(OptOutEvent.id))
        return await self.database.run(lambda session: list(session.exec(query).all()))

"""What the Slack channel keeps: staff links, staff-channel threads, notes told, and slack_sdk's OAuth stores.

The staff-channel threads are worked towards, not fired and forgotten: `due` finds what an
escalation's Slack post still lacks (posting, an update, messages to mirror) from the tables
themselves, so an outage or a restart delays the staff channel but never leaves it wrong.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.installation_store.sqlalchemy import AsyncSQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.async_state_store import AsyncOAuthStateStore
from slack_sdk.oauth.state_store.sqlalchemy import AsyncSQLAlchemyOAuthStateStore
from sqlalchemy import delete, func, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import Session, col, select

from agent.contracts import Role, StaffMember, StaffThread, utcnow
from agent.store.database import Database
from agent.store.engine import create_engine
from agent.store.handoff import STAFF_ID_PREFIX
from agent.store.tables import (
    Conversation,
    Escalation,
    Message,
    SlackNote,
    SlackStaffLink,
    SlackStaffThread,
    StaffUser,
)
from agent.store.rows import staff_view, to_view
from agent.store.views import as_utc

ACTIVE = ("open", "claimed")
# Staff replies written in Slack carry this client id prefix; they are not mirrored back.
SLACK_CLIENT_PREFIX = "slack:"
MIRRORED_ROLES = (Role.CUSTOMER.value, Role.STAFF.value, Role.SYSTEM.value)
# Slack retries an event for minutes, not days: older note rows are not needed to tell a retry.
NOTE_MEMORY = timedelta(days=2)


class UnknownStaff(LookupError):
    """No staff account with that username."""


def wanted_key(status: str, holder_id: int | None) -> str:
    return f"{status}:{holder_id or ''}"


class SlackStore:
    def __init__(self, database: Database) -> None:
        self.database = database

    # -- people and conversations ----------------------------------------------------------

    async def link_staff(self, username: str, slack_user_id: str) -> StaffMember:
        """Let `slack_user_id` act as the staff account `username` (replacing an earlier link)."""

        def work(session: Session) -> StaffMember:
            user = session.exec(select(StaffUser).where(StaffUser.username == username)).first()
            if user is None or user.id is None:
                raise UnknownStaff(username)
            link = session.get(SlackStaffLink, slack_user_id) or SlackStaffLink(slack_user_id=slack_user_id, staff_id=user.id)
            link.staff_id = user.id
            session.add(link)
            session.commit()
            return staff_view(user)

        return await self.database.run(work)

    async def staff_for_slack_user(self, slack_user_id: str) -> StaffMember | None:
        def work(session: Session) -> StaffMember | None:
            link = session.get(SlackStaffLink, slack_user_id)
            user = session.get(StaffUser, link.staff_id) if link else None
            return staff_view(user) if user else None

        return await self.database.run(work)

    async def has_conversation(self, channel: str, conversation_key: str) -> bool:
        query = select(Conversation.id).where(Conversation.channel == channel, Conversation.conversation_key == conversation_key)
        return await self.database.run(lambda session: session.exec(query).first() is not None)

    async def conversation_for_thread(self, channel_id: str, ts: str) -> str | None:
        query = select(SlackStaffThread.conversation_id).where(
            SlackStaffThread.channel_id == channel_id, SlackStaffThread.ts == ts
        )
        return await self.database.run(lambda session: session.exec(query).first())

    async def claim_note(self, message_key: str) -> bool:
        """True for the first caller about this Slack message (it sends the note), False for every retry."""

        def work(session: Session) -> bool:
            session.execute(delete(SlackNote).where(col(SlackNote.created_at) < utcnow() - NOTE_MEMORY))
            session.add(SlackNote(message_key=message_key))
            try:
                session.commit()
            except IntegrityError:
                session.rollback()
                return False
            return True

        return await self.database.run(work)

    # -- staff-channel threads -------------------------------------------------------------

    async def due(self, channel_id: str, limit: int = 20, lease_s: float = 60.0) -> list[StaffThread]:
        """Threads with something left to show, leased to this caller for `lease_s`.

        Escalations still open or claimed that have no thread yet get one here.
        """

        def work(session: Session) -> list[StaffThread]:
            _open_missing(session, channel_id)
            now = utcnow()
            rows = session.exec(
                select(SlackStaffThread, Escalation)
                .join(Escalation, col(Escalation.id) == col(SlackStaffThread.escalation_id))
                .where(SlackStaffThread.channel_id == channel_id, col(SlackStaffThread.done).is_(False))
                .where(col(SlackStaffThread.available_at) <= now)
                .order_by(col(SlackStaffThread.id))
                .with_for_update(skip_locked=True, of=SlackStaffThread)  # type: ignore[arg-type]
            ).all()
            found = []
            for thread, escalation in rows:
                if len(found) >= limit:
                    break
                item = _work_for(session, thread, escalation)
                up_to_date = item.ts is not None and item.shown == item.wanted and not item.pending
                if up_to_date and item.status not in ACTIVE:
                    thread.done = True  # over, and all of it shown: never looked at again
                elif up_to_date:
                    continue
                else:
                    thread.available_at = now + timedelta(seconds=lease_s)
                    found.append(item)
                session.add(thread)
            session.commit()
            return found

        return await self.database.run(work)

    async def posted(self, thread_id: int, ts: str, shown: str, last_message_id: int) -> None:
        await self._update(thread_id, ts=ts, shown=shown, last_message_id=last_message_id)

    async def shown(self, thread_id: int, shown: str) -> None:
        await self._update(thread_id, shown=shown)

    async def mirrored(self, thread_id: int, message_id: int) -> None:
        await self._update(thread_id, last_message_id=message_id)

    async def settle(self, thread_id: int) -> None:
        """Everything due was shown: look again whenever something changes."""
        await self._update(thread_id, available_at=utcnow(), attempts=0, last_error=None)

    async def retry(self, thread_id: int, at: datetime, error: str) -> None:
        def work(session: Session) -> None:
            session.execute(
                update(SlackStaffThread)
                .where(col(SlackStaffThread.id) == thread_id)
                .values(available_at=at, last_error=error[:2000], attempts=SlackStaffThread.attempts + 1)
            )
            session.commit()

        await self.database.run(work)

    async def threads(self, conversation_id: str) -> list[SlackStaffThread]:
        query = select(SlackStaffThread).where(SlackStaffThread.conversation_id == conversation_id).order_by(col(SlackStaffThread.id))
        return await self.database.run(lambda session: list(session.exec(query).all()))

    async def _update(self, thread_id: int, **values: object) -> None:
        def work(session: Session) -> None:
            session.execute(update(SlackStaffThread).where(col(SlackStaffThread.id) == thread_id).values(**values))
            session.commit()

        await self.database.run(work)


def _open_missing(session: Session, channel_id: str) -> None:
    missing = session.exec(
        select(Escalation.id, Escalation.conversation_id)
        .where(col(Escalation.status).in_(ACTIVE))
        .where(~col(Escalation.id).in_(select(SlackStaffThread.escalation_id)))
    ).all()
    if not missing:
        return
    session.add_all(
        SlackStaffThread(escalation_id=escalation_id, conversation_id=conversation_id, channel_id=channel_id)
        for escalation_id, conversation_id in missing
    )
    try:
        session.commit()
    except IntegrityError:
        session.rollback()  # another process opened them first; the next pass sees its rows


def _work_for(session: Session, thread: SlackStaffThread, escalation: Escalation) -> StaffThread:
    assert thread.id is not None and escalation.id is not None
    holder = session.get(StaffUser, escalation.claimed_by) if escalation.claimed_by else None
    latest = session.exec(
        select(func.max(Message.id)).where(Message.conversation_id == thread.conversation_id)
    ).one()
    pending: list[Message] = []
    if thread.ts is not None:
        query = (
            select(Message)
            .where(Message.conversation_id == thread.conversation_id, col(Message.id) > thread.last_message_id)
            .where(col(Message.role).in_(MIRRORED_ROLES))
            .where(
                (col(Message.channel_message_id).is_(None))
                | ~col(Message.channel_message_id).startswith(STAFF_ID_PREFIX + SLACK_CLIENT_PREFIX)
            )
            .order_by(col(Message.id))
            .limit(50)
        )
        if escalation.resolved_at is not None:
            query = query.where(col(Message.created_at) <= as_utc(escalation.resolved_at))
        pending = list(session.exec(query).all())
    return StaffThread(
        id=thread.id,
        conversation_id=thread.conversation_id,
        escalation_id=escalation.id,
        channel_id=thread.channel_id,
        ts=thread.ts,
        shown=thread.shown,
        wanted=wanted_key(escalation.status, escalation.claimed_by),
        status=escalation.status,
        holder=staff_view(holder) if holder else None,
        pending=[to_view(m) for m in pending],
        latest_message_id=latest or 0,
        attempts=thread.attempts,
    )


def oauth_stores(url: str, client_id: str, state_expiration_s: int = 600) -> tuple[AsyncInstallationStore, AsyncOAuthStateStore, AsyncEngine]:
    """slack_sdk's SQLAlchemy installation and state stores on our database (tables from migration 0007).

    They get an engine of their own (dispose it on shutdown): slack_sdk drives it itself.
    """
    engine = create_engine(url)
    installations = AsyncSQLAlchemyInstallationStore(client_id=client_id, engine=engine)
    states = AsyncSQLAlchemyOAuthStateStore(expiration_seconds=state_expiration_s, engine=engine)
    return installations, states, engine

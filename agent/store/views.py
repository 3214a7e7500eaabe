"""Table rows as the contract's views: what leaves the store for the layers above."""

from __future__ import annotations

from datetime import datetime, timezone

from agent.contracts import MessageView, NoteView, Role, StaffMember, StaffRole
from agent.store.tables import Message, Note, StaffUser


def as_utc(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes; everything we store is UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def to_view(message: Message) -> MessageView:
    assert message.id is not None
    return MessageView(
        id=message.id,
        role=Role(message.role),
        text=message.text,
        created_at=as_utc(message.created_at),
        author=message.author,
    )


def staff_view(user: StaffUser) -> StaffMember:
    assert user.id is not None
    return StaffMember(id=user.id, username=user.username, display_name=user.display_name, role=StaffRole(user.role))


def note_view(note: Note, author: str) -> NoteView:
    assert note.id is not None
    return NoteView(
        id=note.id, conversation_id=note.conversation_id, author=author, text=note.text, created_at=as_utc(note.created_at)
    )

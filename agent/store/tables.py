"""The schema. Alembic migrations in `alembic/` create it; this module only describes it."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Column, DateTime, Index, LargeBinary, Text, UniqueConstraint, false
from sqlmodel import Field, SQLModel

from agent.contracts import utcnow


def _timestamp() -> Column:  # type: ignore[type-arg]
    return Column(DateTime(timezone=True), nullable=False, default=utcnow)


class Conversation(SQLModel, table=True):
    __tablename__ = "conversations"
    __table_args__ = (UniqueConstraint("channel", "conversation_key", name="uq_conversation_channel_key"),)

    id: str = Field(default_factory=lambda: uuid.uuid4().hex, primary_key=True, max_length=32)
    channel: str = Field(max_length=32, index=True)
    conversation_key: str = Field(max_length=255)
    channel_user_id: str = Field(max_length=255)
    state: str = Field(default="bot", max_length=16, index=True)
    route: str | None = Field(default=None, max_length=32)
    # Turns in a row the router could not place; escalation acts on it.
    unknown_streak: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    created_at: datetime = Field(default_factory=utcnow, sa_column=_timestamp())
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_timestamp())
    # Who the customer proved to be (verify_customer, or a trusted channel), and failed proofs.
    verified_customer: str | None = Field(default=None, max_length=255)
    verify_failures: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    # A change the bot asked the customer to confirm, as JSON {tool, arguments, question, route}.
    pending_action: str | None = Field(default=None, sa_column=Column(Text))


class Message(SQLModel, table=True):
    __tablename__ = "messages"
    # Dedupe: a channel's own message id is stored once per conversation.
    # The recovery sweep looks for unanswered messages by when they were stored.
    __table_args__ = (
        UniqueConstraint("conversation_id", "channel_message_id", name="uq_message_channel_id"),
        Index("ix_messages_created_at", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: str = Field(foreign_key="conversations.id", index=True, max_length=32)
    role: str = Field(max_length=16)
    text: str = Field(sa_column=Column(Text, nullable=False))
    author: str | None = Field(default=None, max_length=255)
    channel_message_id: str | None = Field(default=None, max_length=255)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_timestamp())


class Turn(SQLModel, table=True):
    __tablename__ = "turns"

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: str = Field(foreign_key="conversations.id", index=True, max_length=32)
    inbound_message_id: int = Field(foreign_key="messages.id", unique=True)
    reply_message_id: int | None = Field(default=None, foreign_key="messages.id")
    intent: str | None = Field(default=None, max_length=64)
    route: str | None = Field(default=None, max_length=32)
    confidence: float | None = None
    tier: str | None = Field(default=None, max_length=16)
    outcome: str = Field(max_length=16)  # answered | escalated | relayed | failed
    model: str | None = Field(default=None, max_length=128)
    latency_ms: float = 0.0
    # The knowledge passages the answer cites, as JSON: [{id, title, section, source, url, score}].
    sources: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime = Field(default_factory=utcnow, sa_column=_timestamp())


class ModelCall(SQLModel, table=True):
    __tablename__ = "model_calls"

    id: int | None = Field(default=None, primary_key=True)
    turn_id: int = Field(foreign_key="turns.id", index=True)
    model: str = Field(max_length=128)
    provider: str = Field(max_length=32)
    route: str | None = Field(default=None, max_length=32)
    outcome: str = Field(max_length=32)  # ok | timeout | rate_limited | server_error | ...
    error: str | None = Field(default=None, sa_column=Column(Text))
    latency_ms: float = 0.0
    input_tokens: int = 0
    output_tokens: int = 0
    # Null: the model has no known price (unpriced, not free). No column default, which the ORM
    # would write in place of an explicit None.
    cost_usd: float | None = None
    created_at: datetime = Field(default_factory=utcnow, sa_column=_timestamp())
    # Added with the model gateway: where the time and the tokens went.
    ttft_ms: float | None = None
    error_class: str | None = Field(default=None, max_length=32)  # null when ok; a check name when a cascade rejected
    cached_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0
    deployment: str | None = Field(default=None, max_length=255)
    retry: int = 0


class ToolCallRow(SQLModel, table=True):
    __tablename__ = "tool_calls"

    id: int | None = Field(default=None, primary_key=True)
    turn_id: int = Field(foreign_key="turns.id", index=True)
    tool: str = Field(max_length=64)
    step: int = 0
    arguments: str = Field(sa_column=Column(Text, nullable=False))  # JSON, redacted
    outcome: str = Field(max_length=32)  # ok | error | timeout | needs_confirmation | ...
    error: str | None = Field(default=None, sa_column=Column(Text))
    latency_ms: float = 0.0
    response_bytes: int = 0
    confirmation: str | None = Field(default=None, max_length=16)  # asked | confirmed | declined
    created_at: datetime = Field(default_factory=utcnow, sa_column=_timestamp())


class Escalation(SQLModel, table=True):
    __tablename__ = "escalations"

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: str = Field(foreign_key="conversations.id", index=True, max_length=32)
    turn_id: int | None = Field(default=None, foreign_key="turns.id")
    reason: str = Field(max_length=32)  # customer_request | chain_exhausted | ...
    detail: str | None = Field(default=None, sa_column=Column(Text))
    status: str = Field(default="open", max_length=16, index=True)  # open | claimed | resolved | handed_back
    claimed_by: int | None = Field(default=None, foreign_key="staff_users.id")
    claimed_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    # When the customer was told nobody had picked the conversation up yet (once per escalation).
    unclaimed_notice_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    created_at: datetime = Field(default_factory=utcnow, sa_column=_timestamp())
    resolved_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))


class StaffUser(SQLModel, table=True):
    __tablename__ = "staff_users"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64, unique=True)
    display_name: str = Field(max_length=128)
    role: str = Field(default="staff", max_length=16)  # staff | admin
    password_hash: str = Field(max_length=255)  # argon2id, in the PHC string format
    created_at: datetime = Field(default_factory=utcnow, sa_column=_timestamp())


class StaffUserSession(SQLModel, table=True):
    __tablename__ = "staff_sessions"

    # SHA-256 of the cookie's token: a leaked table does not hand out live sessions.
    token_hash: str = Field(primary_key=True, max_length=64)
    staff_id: int = Field(foreign_key="staff_users.id", index=True)
    csrf_token: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_timestamp())
    expires_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False, index=True))


class Note(SQLModel, table=True):
    """A staff member's private note on a conversation; never shown to the customer."""

    __tablename__ = "notes"

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: str = Field(foreign_key="conversations.id", index=True, max_length=32)
    staff_id: int = Field(foreign_key="staff_users.id")
    text: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=_timestamp())


class OutboxItem(SQLModel, table=True):
    """A message owed to a customer on a channel that is sent, not pushed (Slack, SMS).

    Written in the same transaction as the message, so a crash or an API outage delays a
    reply but never loses it.
    """

    __tablename__ = "outbox"

    id: int | None = Field(default=None, primary_key=True)
    message_id: int = Field(foreign_key="messages.id", unique=True)
    conversation_id: str = Field(foreign_key="conversations.id", index=True, max_length=32)
    channel: str = Field(max_length=32)
    # pending → sending (leased until available_at) → sent | failed; "inline" when the
    # channel delivered it in its own webhook response.
    status: str = Field(default="pending", max_length=16, index=True)
    attempts: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    # Not sent before this time: a retry's backoff, a sender's lease, or an inline hold.
    available_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False, index=True))
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    provider_message_id: str | None = Field(default=None, max_length=255)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_timestamp())
    sent_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))


class SlackStaffLink(SQLModel, table=True):
    """Which staff account a Slack user acts as when they press a button or answer in a thread."""

    __tablename__ = "slack_staff_links"

    slack_user_id: str = Field(primary_key=True, max_length=32)
    staff_id: int = Field(foreign_key="staff_users.id", index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_timestamp())


class SlackStaffThread(SQLModel, table=True):
    """An escalation's message in the Slack staff channel: its thread is where staff answer.

    The row is the truth the poster works towards: it is posted until `ts` is set, updated until
    `shown` matches the escalation, and the conversation's messages are mirrored into the thread
    up to `last_message_id`; `done` once the escalation is over and all of that is shown.
    """

    __tablename__ = "slack_staff_threads"
    __table_args__ = (UniqueConstraint("channel_id", "ts", name="uq_slack_staff_thread_ts"),)

    id: int | None = Field(default=None, primary_key=True)
    escalation_id: int = Field(foreign_key="escalations.id", unique=True)
    conversation_id: str = Field(foreign_key="conversations.id", index=True, max_length=32)
    channel_id: str = Field(max_length=32)
    ts: str | None = Field(default=None, max_length=32)
    shown: str | None = Field(default=None, max_length=64)
    last_message_id: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    done: bool = Field(default=False, index=True, sa_column_kwargs={"server_default": false()})
    attempts: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    # Not worked on before this time: a retry's backoff, or another process's lease.
    available_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False))
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime = Field(default_factory=utcnow, sa_column=_timestamp())


class SlackNote(SQLModel, table=True):
    """A note told about a Slack message that could not be taken (files only, too long): the row
    makes it one note per message, however often Slack delivers the message's event again."""

    __tablename__ = "slack_notes"

    message_key: str = Field(primary_key=True, max_length=255)  # the conversation key and the message's ts
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False, index=True))


class OptOutEvent(SQLModel, table=True):
    """A keyword message (SMS STOP, START, HELP): the log an address's opt-out state is read from.

    The latest opt_out/opt_in row of an address decides; the provider's message id makes a
    repeated delivery harmless.
    """

    __tablename__ = "opt_out_events"

    id: int | None = Field(default=None, primary_key=True)
    address: str = Field(max_length=64, index=True)  # E.164 phone number
    action: str = Field(max_length=16)  # opt_out | opt_in | help
    keyword: str = Field(max_length=64)  # what was sent (STOP, UNSUBSCRIBE, a provider error code…)
    provider_message_id: str | None = Field(default=None, max_length=255, unique=True)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_timestamp())


class KnowledgeDocument(SQLModel, table=True):
    """One ingested document; its chunks are replaced with it, in one transaction."""

    __tablename__ = "kb_documents"
    __table_args__ = (UniqueConstraint("collection", "source", name="uq_kb_document_source"),)

    id: int | None = Field(default=None, primary_key=True)
    collection: str = Field(max_length=64, index=True)
    source: str = Field(max_length=1024)
    title: str = Field(sa_column=Column(Text, nullable=False))
    url: str | None = Field(default=None, sa_column=Column(Text))
    content_hash: str = Field(max_length=64)
    chunk_count: int = 0
    ingested_at: datetime = Field(default_factory=utcnow, sa_column=_timestamp())


class KnowledgeChunk(SQLModel, table=True):
    """A searchable piece of a document. Title and section are kept on it, so the full-text index
    (an FTS5 table on SQLite, a generated tsvector column on PostgreSQL, both made by migration
    0012) ranks a chunk by what it is about as well as what it says."""

    __tablename__ = "kb_chunks"

    id: int | None = Field(default=None, primary_key=True)
    document_id: int = Field(foreign_key="kb_documents.id", index=True)
    collection: str = Field(max_length=64)
    ordinal: int
    title: str = Field(sa_column=Column(Text, nullable=False))
    section: str = Field(sa_column=Column(Text, nullable=False))  # the heading path, " › " between levels
    text: str = Field(sa_column=Column(Text, nullable=False))
    url: str | None = Field(default=None, sa_column=Column(Text))  # its own link (an FAQ row's); else the document's
    length: int = 0  # words, for BM25's length normalisation
    # Its terms' counts for BM25 (agent.store.knowledge.encode_terms), written with it: a search
    # reads them instead of tokenizing the text again. NULL: counted from the text when ranked.
    terms: str | None = Field(default=None, sa_column=Column(Text))
    # Its sentence vector (float32 bytes) for semantic search; NULL when ingested without the encoder.
    embedding: bytes | None = Field(default=None, sa_column=Column(LargeBinary))

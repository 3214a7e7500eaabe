"""The store on a real database: SQLite, and PostgreSQL at 127.0.0.1:5432."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import asdict, fields

import pytest
from sqlalchemy import event, inspect
from sqlalchemy.engine import Engine

from agent.contracts import ConversationState, InboundMessage, MessageView, Role, Source
from agent.store import CallRecord, ConversationView, Database, ConversationStore, TurnRecord, TurnView, UnknownConversation
from agent.models import Attempt, ChatResult, Outcome
from agent.store.migrate import head_revision, upgrade
from agent.store.tables import ModelCall


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[ConversationStore]:
    await asyncio.to_thread(upgrade, database_url)
    store = ConversationStore(Database(database_url))
    yield store
    await store.close()


def inbound(text: str, key: str = "k1", message_id: str | None = None) -> InboundMessage:
    return InboundMessage(channel="sms", channel_user_id="+15550001", conversation_key=key, text=text, provider_message_id=message_id)


async def test_migrations_make_the_schema(store: ConversationStore) -> None:
    assert await store.schema_revision() == head_revision()
    tables = await store.database.run(lambda session: set(inspect(session.connection()).get_table_names()))
    assert {"conversations", "messages", "turns", "model_calls", "escalations", "alembic_version"} <= tables


async def test_inbound_opens_one_conversation_per_key(store: ConversationStore) -> None:
    first = await store.save_inbound(inbound("hello"))
    second = await store.save_inbound(inbound("again"))
    other = await store.save_inbound(inbound("hi", key="k2"))
    assert first.conversation.id == second.conversation.id != other.conversation.id
    assert [m.text for m in await store.messages(first.conversation.id)] == ["hello", "again"]


async def test_a_channel_message_id_is_stored_once(store: ConversationStore) -> None:
    first = await store.save_inbound(inbound("hello", message_id="SM1"))
    again = await store.save_inbound(inbound("hello", message_id="SM1"))
    assert not first.duplicate and again.duplicate
    assert again.message.id == first.message.id
    assert len(await store.messages(first.conversation.id)) == 1


async def test_racing_duplicates_store_one_message(store: ConversationStore) -> None:
    await store.save_inbound(inbound("open"))
    results = await asyncio.gather(*(store.save_inbound(inbound("same", message_id="SM9")) for _ in range(6)))
    assert sum(not r.duplicate for r in results) == 1
    assert len({r.message.id for r in results}) == 1


async def test_unknown_conversation_id_is_refused(store: ConversationStore) -> None:
    message = InboundMessage("web", "u", "k", "hi", conversation_id="0" * 32)
    with pytest.raises(UnknownConversation):
        await store.save_inbound(message)


async def test_a_finished_turn_is_written_whole(store: ConversationStore) -> None:
    saved = await store.save_inbound(inbound("talk to a person"))
    assert saved.message.id is not None
    turn, reply = await store.finish_turn(
        TurnRecord(
            conversation_id=saved.conversation.id,
            inbound_message_id=saved.message.id,
            outcome="escalated",
            latency_ms=12.5,
            reply_text="A person will help you.",
            intent="human_handoff",
            route="support",
            confidence=1.0,
            tier="rule",
            calls=[
                CallRecord("gpt", "openai", "timeout", 30000.0, error="no answer"),
                CallRecord("local", "local", "ok", 0.4, input_tokens=10, output_tokens=5),
            ],
            new_state=ConversationState.WAITING,
            escalation_reason="customer_request",
        )
    )
    assert reply is not None and reply.role is Role.BOT
    found = await store.turn_for(saved.message.id)
    assert found is not None and found[0].id == turn.id and found[1] is not None and found[1].id == reply.id
    calls = await store.model_calls(saved.conversation.id)
    assert [(c.model, c.outcome, c.route) for c in calls] == [("gpt", "timeout", "support"), ("local", "ok", "support")]
    conversation = await store.get_conversation(saved.conversation.id)
    assert conversation is not None and conversation.state is ConversationState.WAITING and conversation.route == "support"
    escalations = await store.escalations(saved.conversation.id)
    assert [(e.reason, e.turn_id, e.status) for e in escalations] == [("customer_request", turn.id, "open")]


async def test_context_returns_the_latest_messages_oldest_first(store: ConversationStore) -> None:
    for i in range(5):
        saved = await store.save_inbound(inbound(f"m{i}"))
    assert saved.message.id is not None
    context = await store.context(saved.conversation.id, saved.message.id, limit=3)
    assert context.conversation.id == saved.conversation.id
    assert [m.text for m in context.recent] == ["m2", "m3", "m4"]
    assert context.done is None


async def test_context_ends_at_the_turns_own_message_however_many_came_after(store: ConversationStore) -> None:
    ids = []
    for i in range(6):
        saved = await store.save_inbound(inbound(f"m{i}"))
        ids.append(saved.message.id)
    context = await store.context(saved.conversation.id, ids[2], limit=10)
    assert [m.text for m in context.recent] == ["m0", "m1", "m2"]


async def test_what_the_store_returns_are_views_with_enums_not_rows(store: ConversationStore) -> None:
    saved = await store.save_inbound(inbound("hello", message_id="SM1"))
    turn, reply = await store.finish_turn(
        TurnRecord(saved.conversation.id, saved.message.id, "answered", 1.0, reply_text="Hi!", route="support")
    )
    messages = await store.messages(saved.conversation.id)
    assert all(type(m) is MessageView for m in [saved.message, *messages])
    assert [(m.role, m.channel_message_id) for m in messages] == [(Role.CUSTOMER, "SM1"), (Role.BOT, None)]
    assert all(type(m.role) is Role for m in messages) and reply == messages[1]
    conversation = await store.get_conversation(saved.conversation.id)
    assert type(conversation) is ConversationView and type(saved.conversation) is ConversationView
    assert type(conversation.state) is ConversationState and conversation.created_at.tzinfo is not None
    assert type(turn) is TurnView and [t.id for t in await store.turns(saved.conversation.id)] == [turn.id]
    context = await store.context(saved.conversation.id, saved.message.id, limit=5)
    assert type(context.conversation) is ConversationView and context.recent == [messages[0]]
    assert context.done == (turn, reply)
    # Frozen: a caller cannot change what the store said and have it mistaken for stored.
    with pytest.raises(AttributeError):
        conversation.state = ConversationState.BOT  # type: ignore[misc]


WARRANTY = Source("4:1", "Warranty and repairs", "Broken tent poles", "warranty.md", "https://shop.example/help/warranty", 18.4)
GIFT_CARDS = Source("5:0", "Gift cards", "", "gift-cards.md", None, 3.25)


async def test_the_history_gives_each_answer_the_sources_its_turn_cites_in_one_query(store: ConversationStore) -> None:
    cited = await store.save_inbound(inbound("my tent pole snapped"))
    cites = (WARRANTY, GIFT_CARDS)
    first, first_reply = await store.finish_turn(
        TurnRecord(cited.conversation.id, cited.message.id, "answered", 1.0, reply_text="It is replaced free.", sources=cites)
    )
    plain = await store.save_inbound(inbound("thanks"))
    _, plain_reply = await store.finish_turn(
        TurnRecord(plain.conversation.id, plain.message.id, "answered", 1.0, reply_text="Glad to help.")
    )
    # Another conversation's cited answer: the join stays inside this one.
    other = await store.save_inbound(inbound("my tent pole snapped", key="k2"))
    await store.finish_turn(
        TurnRecord(other.conversation.id, other.message.id, "answered", 1.0, reply_text="Replaced.", sources=(GIFT_CARDS,))
    )

    statements: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        statements.append(statement)

    event.listen(Engine, "before_cursor_execute", count)
    try:
        messages = await store.messages(cited.conversation.id)
    finally:
        event.remove(Engine, "before_cursor_execute", count)
    assert len(statements) == 1  # one query for the page, however many answers it holds

    assert [(m.role, m.text, m.sources) for m in messages] == [
        (Role.CUSTOMER, "my tent pole snapped", ()),
        (Role.BOT, "It is replaced free.", cites),
        (Role.CUSTOMER, "thanks", ()),
        (Role.BOT, "Glad to help.", ()),
    ]
    # The same view the finished turn and a repeated turn's look-up return.
    assert first_reply is not None and first_reply.sources == cites == first.sources
    assert messages[1] == first_reply and messages[3] == plain_reply
    found = await store.turn_for(cited.message.id)
    assert found is not None and found[1] == first_reply
    # A page's later read, after the answer, still joins its turn.
    assert [m.sources for m in await store.messages(cited.conversation.id, after=cited.message.id, limit=1)] == [cites]


async def test_a_model_attempt_is_stored_as_its_record_says(store: ConversationStore) -> None:
    # The record's fields are the row's columns, but for the turn, the route and the row's own.
    columns = set(ModelCall.model_fields) - {"id", "turn_id", "route", "created_at"}
    assert {f.name for f in fields(CallRecord)} == columns
    saved = await store.save_inbound(inbound("where is my order"))
    answered = ChatResult(
        "On its way.", "local", input_tokens=12, output_tokens=4, cost_usd=0.5, cached_tokens=3,
        cache_write_tokens=2, reasoning_tokens=1,
    )
    attempts = [
        Attempt("gpt", "openai", Outcome.RATE_LIMITED, 20.0, error="429", deployment="eu", retry=1),
        Attempt("local", "local", Outcome.OK, 5.0, result=answered, ttft_ms=1.5, priced=False),
    ]
    records = [attempt.record() for attempt in attempts]
    await store.finish_turn(
        TurnRecord(saved.conversation.id, saved.message.id, "answered", 30.0, route="orders", calls=records)
    )
    rows = await store.model_calls(saved.conversation.id)
    assert [{name: getattr(row, name) for name in columns} for row in rows] == [asdict(r) for r in records]
    assert [(r.route, r.error_class, r.cost_usd) for r in rows] == [("orders", "rate_limited", 0.0), ("orders", None, None)]
    assert rows[1].input_tokens == 12 and rows[1].cached_tokens == 3 and rows[0].retry == 1


async def test_the_migrations_make_exactly_the_tables_the_code_declares(database: Database, database_url: str) -> None:
    """A column changed in tables.py but not in a migration (or the reverse) shows up here."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlmodel import SQLModel

    from agent.store.engine import create_engine

    ours = set(SQLModel.metadata.tables)
    # slack_sdk's installation and state tables are declared by slack_sdk, not here; the full-text
    # index is the database's own (FTS5 tables on SQLite, a generated tsvector column and its GIN
    # index on PostgreSQL), made by migration 0012 and read only through SQL in agent/store/knowledge.py.
    full_text = {("column", "search_vector"), ("index", "ix_kb_chunks_search")}

    def include(name: str | None, kind: str, _parents: object) -> bool:
        return (kind, name) not in full_text and (kind != "table" or name in ours)

    only_ours = {"include_name": include, "compare_type": True}
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            differences = await connection.run_sync(
                lambda sync: compare_metadata(MigrationContext.configure(sync, opts=only_ours), SQLModel.metadata)
            )
    finally:
        await engine.dispose()
    assert differences == []

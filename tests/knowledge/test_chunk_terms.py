"""Each chunk's term counts, written at ingest and read by ranking instead of tokenizing its text
again: a database with chunks from before the counts (migrated from 0012), or with chunks that
have none, ranks exactly as one ingested now."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import text
from sqlmodel import Session

from agent.contracts import KnowledgeQuery, Passage
from agent.knowledge.ingest import ingest
from agent.knowledge.search import KnowledgeSearch
from agent.store import Database
from agent.store.knowledge import KnowledgeStore, chunk_terms, count_of, encode_terms, term_needle
from agent.store.migrate import upgrade
from agent.terms import tokens
from tests.support.services import fresh_postgres_database

DATA = Path(__file__).resolve().parents[1] / "data"
DEMO = Path(__file__).resolve().parents[2] / "agent" / "demo" / "knowledge"
# What 0012 stored of a document and of a chunk: everything but the counts.
DOCUMENT_COLUMNS = "id, collection, source, title, url, content_hash, chunk_count, ingested_at"
CHUNK_COLUMNS = "id, document_id, collection, ordinal, title, section, text, url, length, embedding"


def questions() -> list[KnowledgeQuery]:
    """The held-out questions, with no floors (every candidate's score shows), and in one collection."""
    asked = [json.loads(line)["query"] for line in (DATA / "knowledge_eval.jsonl").read_text().splitlines() if line.strip()]
    return [KnowledgeQuery(q, k=8) for q in asked] + [KnowledgeQuery(q, ("policies",), k=3) for q in asked[:20]]


async def answers(database: Database) -> list[list[Passage]]:
    search = KnowledgeSearch(KnowledgeStore(database))
    return [await search.search(query) for query in questions()]


@asynccontextmanager
async def another_database(database_url: str, tmp_path: Path) -> AsyncIterator[str]:
    """An empty database of the same kind as `database_url`."""
    if database_url.startswith("sqlite"):
        yield f"sqlite+aiosqlite:///{tmp_path / 'before.db'}"
    else:
        async with fresh_postgres_database() as url:
            yield url


async def rows(database: Database, statement: str) -> list[tuple[object, ...]]:
    return await database.run(lambda session: [tuple(row) for row in session.connection().execute(text(statement)).all()])


async def test_chunks_stored_before_there_were_counts_rank_as_chunks_stored_now(
    database: Database, database_url: str, tmp_path: Path
) -> None:
    for collection in ("help", "policies"):
        await ingest(KnowledgeStore(database), [DEMO / collection], collection)
    expected = await answers(database)
    assert sum(map(len, expected)) > 500  # the questions find passages, and ranking has work to do

    documents = await rows(database, f"SELECT {DOCUMENT_COLUMNS} FROM kb_documents ORDER BY id")
    chunks = await rows(database, f"SELECT {CHUNK_COLUMNS} FROM kb_chunks ORDER BY id")

    def copy(session: Session) -> None:
        for table, columns, values in (("kb_documents", DOCUMENT_COLUMNS, documents), ("kb_chunks", CHUNK_COLUMNS, chunks)):
            names = columns.split(", ")
            insert = text(f"INSERT INTO {table} ({columns}) VALUES ({', '.join(':' + n for n in names)})")
            session.connection().execute(insert, [dict(zip(names, row)) for row in values])
        session.commit()

    async with another_database(database_url, tmp_path) as before_url:
        # The same documents as 0012 stored them, row for row, then upgraded.
        await asyncio.to_thread(upgrade, before_url, "0012")
        at_0012 = Database(before_url)
        try:
            await at_0012.run(copy)
        finally:
            await at_0012.dispose()
        await asyncio.to_thread(upgrade, before_url)
        before = Database(before_url)
        try:
            counts = "SELECT id, length, terms FROM kb_chunks ORDER BY id"
            assert await rows(before, counts) == await rows(database, counts)
            assert await answers(before) == expected
            if before.backend == "sqlite":
                # The full-text index is still whole after the counts were written.
                check = text("INSERT INTO kb_chunks_fts(kb_chunks_fts, rank) VALUES ('integrity-check', 1)")
                await before.run(lambda session: session.connection().execute(check))
        finally:
            await before.dispose()


async def test_chunks_without_their_counts_are_counted_when_ranked(database: Database) -> None:
    for collection in ("help", "policies"):
        await ingest(KnowledgeStore(database), [DEMO / collection], collection)
    expected = await answers(database)

    def forget(session: Session) -> None:
        session.connection().execute(text("UPDATE kb_chunks SET terms = NULL WHERE id % 2 = 0"))
        session.commit()

    await database.run(forget)
    assert await rows(database, "SELECT count(*) FROM kb_chunks WHERE terms IS NULL") != [(0,)]
    assert await answers(database) == expected


def test_the_counts_are_what_ranking_counted_from_the_text() -> None:
    counts = chunk_terms("Shipping times", "Express › Abroad", "Expedited shipping ships in 2 days.")
    assert counts == Counter(tokens("Expedited shipping ships in 2 days.") + tokens("Shipping times Express Abroad") * 2)
    assert sum(counts.values()) == 13 and counts["shipp"] == 3  # once in the text, twice for the title


@given(st.lists(st.text(min_size=1), min_size=1), st.lists(st.text(min_size=1)))
def test_a_term_is_found_with_its_count_and_never_inside_another(texts: list[str], others: list[str]) -> None:
    counts = Counter(term for piece in texts for term in tokens(piece))
    encoded = encode_terms(counts)
    for term in [*counts, *(t for piece in others for t in tokens(piece)), "ship", "hipping", "shipp:1"]:
        assert count_of(encoded, term_needle(term)) == counts.get(term, 0)

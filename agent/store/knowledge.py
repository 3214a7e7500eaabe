"""The knowledge base's tables: documents switched in whole, chunks found by full-text search.

Full-text search is the database's own, chosen by URL like the rest of the store: an FTS5 index
on SQLite, a tsvector column under a GIN index on PostgreSQL (both made by migration 0012). The
index finds candidates; ranking them is the caller's (`agent.knowledge.search`), the same on both.

Each chunk keeps the counts ranking needs (`terms`, written at ingest by `encode_terms`), so a
search looks up a candidate's counts instead of tokenizing its text again. They are counts of
`agent.terms` tokens: a change to the tokenizer needs a migration that counts them again (as 0013).

A chunk may also carry its sentence vector (`embedding`, float32 bytes) for semantic search. The
store keeps and hands them out; searching them is `agent.knowledge.vectors`' job.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, func, text
from sqlmodel import Session, col, delete, select

from agent.contracts import DocumentRecord, utcnow
from agent.store.database import Database
from agent.store.tables import KnowledgeChunk, KnowledgeDocument
from agent.store.views import as_utc
from agent.terms import tokens

SECTION_SEPARATOR = " › "


@dataclass(frozen=True, slots=True)
class DocumentView:
    id: int
    collection: str
    source: str
    title: str
    url: str | None
    content_hash: str
    chunks: int
    ingested_at: datetime


@dataclass(frozen=True, slots=True)
class CollectionView:
    name: str
    documents: int
    chunks: int
    last_ingest: datetime


@dataclass(frozen=True, slots=True)
class CandidateChunk:
    """A chunk the index matched, with what ranking and citing it need."""

    id: int
    document_id: int
    ordinal: int
    collection: str
    title: str
    section: str
    text: str
    source: str
    url: str | None
    length: int  # its terms, counted as in `chunk_terms`
    terms: str | None  # `encode_terms` of `chunk_terms`; None for a chunk stored without them


@dataclass(frozen=True, slots=True)
class StoredVector:
    chunk_id: int
    collection: str
    embedding: bytes


@dataclass(frozen=True, slots=True)
class IndexStats:
    chunks: int
    average_length: float
    # The latest ingest: a document replaced by one of the same size changes nothing else here.
    changed_at: datetime | None = None


def _document_view(row: KnowledgeDocument) -> DocumentView:
    assert row.id is not None
    return DocumentView(
        row.id, row.collection, row.source, row.title, row.url, row.content_hash, row.chunk_count, as_utc(row.ingested_at)
    )


def chunk_terms(title: str, section: str, body: str) -> Counter[str]:
    """The terms BM25 counts in a chunk: its text's, and its title's and section's twice (they name the topic)."""
    heading = tokens(title) + tokens(section)
    return Counter(tokens(body) + heading * 2)


def encode_terms(counts: Mapping[str, int]) -> str:
    """Counts as `term:count` pairs, each between spaces: " tent:3 pole:2 ". A term (`agent.terms`)
    holds neither a space nor a colon, so `count_of` finds a term with one `str.find`, cheaper
    than decoding every pair of forty candidates on each search."""
    return " " + " ".join(f"{term}:{count}" for term, count in counts.items()) + " "


def term_needle(term: str) -> str:
    """What `count_of` looks for: made once per query term, not once per candidate."""
    return f" {term}:"


def count_of(terms: str, needle: str) -> int:
    """How often the term of `needle` is in `terms` (as `encode_terms` wrote them); 0 when it is not."""
    at = terms.find(needle)
    if at < 0:
        return 0
    start = at + len(needle)
    return int(terms[start : terms.index(" ", start)])


class KnowledgeStore:
    def __init__(self, database: Database) -> None:
        self.database = database

    # -- writing ------------------------------------------------------------------------

    async def hashes(self, collection: str) -> dict[str, str]:
        """source → content hash of every document in `collection`: what an ingest can skip."""
        query = select(KnowledgeDocument.source, KnowledgeDocument.content_hash).where(
            KnowledgeDocument.collection == collection
        )
        rows = await self.database.run(lambda session: session.exec(query).all())
        return {source: content_hash for source, content_hash in rows}

    async def unembedded(self, collection: str) -> set[str]:
        """The sources of `collection` with a chunk that has no vector (ingested without the encoder)."""
        query = (
            select(KnowledgeDocument.source)
            .join(KnowledgeChunk, col(KnowledgeChunk.document_id) == col(KnowledgeDocument.id))
            .where(KnowledgeDocument.collection == collection, col(KnowledgeChunk.embedding).is_(None))
            .distinct()
        )
        return set(await self.database.run(lambda session: session.exec(query).all()))

    async def put(self, record: DocumentRecord, embeddings: Sequence[bytes] | None = None) -> str:
        """Store a document and its chunks in one transaction, replacing an earlier version:
        searches see the old chunks or the new, never a mix. "added", "updated" or "unchanged";
        "embedded" when only vectors were missing (given `embeddings`, one per chunk, in order)."""
        if embeddings is not None and len(embeddings) != len(record.chunks):
            raise ValueError(f"{len(embeddings)} embeddings for {len(record.chunks)} chunks")

        def work(session: Session) -> str:
            row = session.exec(
                select(KnowledgeDocument).where(
                    KnowledgeDocument.collection == record.collection, KnowledgeDocument.source == record.source
                )
            ).first()
            change = "added" if row is None else "updated"
            if row is not None and row.content_hash == record.content_hash:
                if embeddings is None or not _lacks_vectors(session, row.id):
                    return "unchanged"
                change = "embedded"  # the same chunks again, now with their vectors
            if row is None:
                row = KnowledgeDocument(collection=record.collection, source=record.source, title=record.title, content_hash="")
            else:
                session.exec(delete(KnowledgeChunk).where(col(KnowledgeChunk.document_id) == row.id))  # type: ignore[call-overload]
            row.title, row.url, row.content_hash = record.title, record.url, record.content_hash
            row.chunk_count, row.ingested_at = len(record.chunks), utcnow()
            session.add(row)
            session.flush()
            assert row.id is not None
            for index, chunk in enumerate(record.chunks):
                section = SECTION_SEPARATOR.join(chunk.section)
                counts = chunk_terms(record.title, section, chunk.text)
                session.add(
                    KnowledgeChunk(
                        document_id=row.id,
                        collection=record.collection,
                        ordinal=chunk.ordinal,
                        title=record.title,
                        section=section,
                        text=chunk.text,
                        url=chunk.url,
                        length=sum(counts.values()),
                        terms=encode_terms(counts),
                        embedding=embeddings[index] if embeddings is not None else None,
                    )
                )
            session.commit()
            return change

        return await self.database.run(work)

    async def remove(self, collection: str, sources: Sequence[str] | None = None) -> int:
        """Remove documents of `collection` (all of them when `sources` is None); how many went."""

        def work(session: Session) -> int:
            query = select(KnowledgeDocument.id).where(KnowledgeDocument.collection == collection)
            if sources is not None:
                query = query.where(col(KnowledgeDocument.source).in_(list(sources)))
            ids = list(session.exec(query).all())
            if ids:
                session.exec(delete(KnowledgeChunk).where(col(KnowledgeChunk.document_id).in_(ids)))  # type: ignore[call-overload]
                session.exec(delete(KnowledgeDocument).where(col(KnowledgeDocument.id).in_(ids)))  # type: ignore[call-overload]
            session.commit()
            return len(ids)

        return await self.database.run(work)

    # -- reading ------------------------------------------------------------------------

    async def collections(self) -> list[CollectionView]:
        query = (
            select(
                KnowledgeDocument.collection,
                func.count(col(KnowledgeDocument.id)),
                func.sum(KnowledgeDocument.chunk_count),
                func.max(KnowledgeDocument.ingested_at),
            )
            .group_by(KnowledgeDocument.collection)
            .order_by(KnowledgeDocument.collection)
        )
        rows = await self.database.run(lambda session: session.exec(query).all())
        return [CollectionView(name, documents, int(chunks or 0), as_utc(last)) for name, documents, chunks, last in rows]

    async def documents(self, collection: str | None = None) -> list[DocumentView]:
        query = select(KnowledgeDocument).order_by(KnowledgeDocument.collection, KnowledgeDocument.source)
        if collection is not None:
            query = query.where(KnowledgeDocument.collection == collection)
        rows = await self.database.run(lambda session: session.exec(query).all())
        return [_document_view(row) for row in rows]

    async def stats(self) -> IndexStats:
        query = select(
            func.count(col(KnowledgeChunk.id)),
            func.avg(KnowledgeChunk.length),
            select(func.max(KnowledgeDocument.ingested_at)).scalar_subquery(),
        )
        count, average, changed_at = await self.database.run(lambda session: session.exec(query).one())
        return IndexStats(int(count or 0), float(average or 0.0), as_utc(changed_at) if changed_at is not None else None)

    async def vectors(self) -> list[StoredVector]:
        """Every chunk's vector, of every collection (chunks without one are not there)."""
        query = select(KnowledgeChunk.id, KnowledgeChunk.collection, KnowledgeChunk.embedding).where(
            col(KnowledgeChunk.embedding).is_not(None)
        )
        rows = await self.database.run(lambda session: session.exec(query).all())
        return [StoredVector(chunk_id, collection, bytes(embedding)) for chunk_id, collection, embedding in rows]

    async def chunks(self, ids: Sequence[int]) -> list[CandidateChunk]:
        """The chunks of `ids` that are still there, in no particular order."""
        if not ids:
            return []

        def work(session: Session) -> list[CandidateChunk]:
            return [CandidateChunk(*row) for row in session.connection().execute(_CHUNKS, {"ids": list(ids)}).all()]

        return await self.database.run(work)

    async def candidates(self, words: Sequence[str], collections: Sequence[str], limit: int) -> list[CandidateChunk]:
        """Chunks holding any of `words`, best first by the index's own rank, at most `limit`."""
        if not words:
            return []
        params: dict[str, object] = {"limit": limit}
        if collections:
            params["collections"] = list(collections)
        if self.database.backend != "sqlite":
            params["match"] = " | ".join(_tsquery_lexeme(w) for w in words)
            query = _POSTGRES_IN_COLLECTIONS if collections else _POSTGRES_CANDIDATES

            def ranked_rows(session: Session) -> list[CandidateChunk]:
                return [CandidateChunk(*row) for row in session.connection().execute(query, params).all()]

            return await self.database.run(ranked_rows)
        params["match"] = " OR ".join(_fts5_phrase(w) for w in words)
        ranking = _SQLITE_IN_COLLECTIONS if collections else _SQLITE_CANDIDATES

        def ranked_then_read(session: Session) -> list[CandidateChunk]:
            connection = session.connection()
            ids = [chunk_id for (chunk_id,) in connection.execute(ranking, params).all()]
            if not ids:
                return []
            rows = {row[0]: row for row in connection.execute(_CHUNKS, {"ids": ids}).all()}
            # A chunk another process removed between the two statements is left out.
            return [CandidateChunk(*rows[chunk_id]) for chunk_id in ids if chunk_id in rows]

        return await self.database.run(ranked_then_read)

    async def document_frequencies(self, words: Sequence[str]) -> dict[str, int]:
        """How many chunks hold each word (as the index matches it: stemmed, case-folded)."""
        if not words:
            return {}
        if self.database.backend == "sqlite":
            part = "SELECT count(*) FROM kb_chunks_fts WHERE kb_chunks_fts MATCH :w{i}"
            values = {f"w{i}": _fts5_phrase(w) for i, w in enumerate(words)}
        else:
            part = "SELECT count(*) FROM kb_chunks WHERE search_vector @@ to_tsquery('english', :w{i})"
            values = {f"w{i}": _tsquery_lexeme(w) for i, w in enumerate(words)}
        statement = text(" UNION ALL ".join(f"SELECT {i} AS i, ({part.format(i=i)}) AS n" for i in range(len(words))))

        def work(session: Session) -> dict[str, int]:
            counts = dict(session.connection().execute(statement, values).all())
            return {w: int(counts.get(i, 0)) for i, w in enumerate(words)}

        return await self.database.run(work)


_CANDIDATE_COLUMNS = (
    "c.id, c.document_id, c.ordinal, c.collection, c.title, c.section, c.text, d.source, coalesce(c.url, d.url),"
    " c.length, c.terms"
)
_CANDIDATE_FROM = "FROM kb_chunks c JOIN kb_documents d ON d.id = c.document_id"
_CHUNKS = text(f"SELECT {_CANDIDATE_COLUMNS} {_CANDIDATE_FROM} WHERE c.id IN :ids").bindparams(bindparam("ids", expanding=True))

# SQLite ranks inside the FTS table and only then reads the chunks it keeps, by id, in a second
# statement: FTS5 keeps the best rows as it goes instead of joining every match, and reading the
# rows apart is cheaper than joining the ranked subquery (0.5 ms of 9 at 100k chunks). bm25()
# in ORDER BY is a quarter faster than `ORDER BY rank` with `rank MATCH`, which sorts every
# match in a statement of its own first; the order is the same, ties by rowid.
_FTS5_RANK = "bm25(kb_chunks_fts, 2.0, 2.0, 1.0)"  # title and section count twice, as in ranking
_SQLITE_CANDIDATES = text(
    f"SELECT rowid FROM kb_chunks_fts WHERE kb_chunks_fts MATCH :match ORDER BY {_FTS5_RANK}, rowid LIMIT :limit"
)
# A collection filter needs the join before the limit.
_SQLITE_IN_COLLECTIONS = text(
    f"SELECT f.rowid FROM (SELECT rowid, {_FTS5_RANK} AS score FROM kb_chunks_fts WHERE kb_chunks_fts MATCH :match) f"
    " JOIN kb_chunks c ON c.id = f.rowid WHERE c.collection IN :collections ORDER BY f.score, f.rowid LIMIT :limit"
).bindparams(bindparam("collections", expanding=True))
_POSTGRES_RANKED = (
    f"SELECT {_CANDIDATE_COLUMNS} {_CANDIDATE_FROM} WHERE c.search_vector @@ to_tsquery('english', :match){{where}}"
    # Normalised by length (1): otherwise long chunks that repeat a common word crowd out the answer.
    # Ties by id, as on SQLite: not by where a row happens to lie in the table, which an UPDATE changes.
    " ORDER BY ts_rank(c.search_vector, to_tsquery('english', :match), 1) DESC, c.id LIMIT :limit"
)
_POSTGRES_CANDIDATES = text(_POSTGRES_RANKED.format(where=""))
_POSTGRES_IN_COLLECTIONS = text(_POSTGRES_RANKED.format(where=" AND c.collection IN :collections")).bindparams(
    bindparam("collections", expanding=True)
)


def _lacks_vectors(session: Session, document_id: int | None) -> bool:
    query = select(KnowledgeChunk.id).where(KnowledgeChunk.document_id == document_id, col(KnowledgeChunk.embedding).is_(None))
    return session.exec(query.limit(1)).first() is not None


def _fts5_phrase(word: str) -> str:
    # A word quoted as an FTS5 string is only ever a word: no operator, column filter or prefix.
    return '"' + word.replace('"', '""') + '"'


def _tsquery_lexeme(word: str) -> str:
    # Quoted as a tsquery lexeme, so `!`, `&`, `:*` and the like in a word are just characters.
    return "'" + word.replace("\\", "\\\\").replace("'", "''") + "'"

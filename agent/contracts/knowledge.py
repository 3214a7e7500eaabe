"""The knowledge contract: a business's documents as they are stored, and the passages a turn
retrieves from them for its models to answer from and cite."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class ChunkRecord:
    """One piece of a document: a section (or a question and its answer), never cut mid-sentence."""

    ordinal: int  # its place in the document
    section: tuple[str, ...]  # the heading path down to it; () for the text before any heading
    text: str
    url: str | None = None  # a link for this piece alone (an FAQ row's own url); else the document's


@dataclass(frozen=True, slots=True)
class DocumentRecord:
    """A parsed document, ready to store: its chunks switch in with it, in one transaction."""

    collection: str
    source: str  # where it came from: a path relative to what was ingested, or a URL
    title: str
    content_hash: str  # of the file's bytes: the same hash means nothing to do
    chunks: tuple[ChunkRecord, ...]
    url: str | None = None  # a link a customer can follow (front matter `url`, an HTML canonical link)
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Passage:
    """A chunk retrieved for a query, with what a citation needs."""

    id: str  # stable across searches: "<document id>:<ordinal>"
    collection: str
    title: str
    section: tuple[str, ...]
    source: str
    text: str
    # How well it answers, for ordering and logs: BM25 when searching by words alone; in hybrid
    # search the reciprocal-rank fusion of the BM25 and the vector rankings, scaled to 1.0 for
    # first in both. Either way higher is better; only BM25 is comparable with `min_score`.
    score: float
    url: str | None = None

    @property
    def heading(self) -> str:
        return " › ".join(self.section)

    def as_source(self) -> Source:
        return Source(self.id, self.title, self.heading, self.source, self.url, round(self.score, 3))


@dataclass(frozen=True, slots=True)
class Source:
    """A passage an answer cites, as a reply and the stored turn keep it (without its text)."""

    id: str
    title: str
    section: str
    source: str
    url: str | None
    score: float


@dataclass(frozen=True, slots=True)
class KnowledgeQuery:
    text: str
    collections: tuple[str, ...] = ()  # () searches every collection
    k: int = 3
    min_score: float = 0.0
    # The share of the query's weight (by IDF) a passage must match: one rare word of a question
    # about something else ("weather" in a delivery article) is not an answer.
    min_coverage: float = 0.0
    min_words: int = 1  # how many of the query's words a passage must hold (at most all of them)


class Retriever(Protocol):
    """Searches the stored knowledge base; an empty or unsearchable query finds nothing."""

    async def search(self, query: KnowledgeQuery) -> list[Passage]: ...

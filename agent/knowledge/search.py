"""Ranking what the full-text index finds: BM25 over the candidates, the same on every database.

The index (FTS5 or PostgreSQL's) picks candidates by its own rank; this module scores them with
Okapi BM25 from the index's counts, so a score, and so a route's `min_score`, means the same on
SQLite and on PostgreSQL. Document frequencies are cached until the index's size changes.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from dataclasses import dataclass

from agent.contracts import KnowledgeQuery, Passage
from agent.store.knowledge import CandidateChunk, IndexStats, KnowledgeStore
from agent.terms import stem, tokens, words

MAX_QUERY_WORDS = 24  # a 4,000-character message asks the index for its first 24 meaningful words
STATS_TTL_S = 5.0  # how stale the index's size may be (another process may ingest meanwhile)
COMMON_SHARE = 0.1  # a word in more than this share of chunks is common
MAX_CACHED_WORDS = 50_000  # customers' words are unbounded (typos, other scripts): the cache is not
K1, B = 1.2, 0.75


@dataclass(slots=True)
class _Cached:
    stats: IndexStats
    read_at: float


class KnowledgeSearch:
    """The `Retriever` on the store."""

    def __init__(self, store: KnowledgeStore, candidates: int = 40) -> None:
        self._store = store
        self._candidates = candidates
        self._stats: _Cached | None = None
        self._frequencies: dict[str, int] = {}

    async def search(self, query: KnowledgeQuery) -> list[Passage]:
        asked = list(dict.fromkeys(words(query.text)))[:MAX_QUERY_WORDS]
        if not asked or query.k <= 0:
            return []
        stats = await self._index_stats()
        if stats.chunks == 0:
            return []
        idf = await self._idf(asked, stats)
        limit = max(self._candidates, query.k * 4)
        # The index is asked for the rarer words first: a word in a tenth of all chunks makes it
        # rank thousands of rows to keep forty. The common words still count in the ranking, and
        # are asked for too when the rare ones alone find too few candidates.
        rare = [w for w in asked if self._frequencies.get(w, 0) <= stats.chunks * COMMON_SHARE]
        found = await self._store.candidates(rare, query.collections, limit) if rare and len(rare) < len(asked) else []
        if len(found) < limit:
            found = await self._store.candidates(asked, query.collections, limit)
        if not found:
            return []
        weight = sum(idf.values()) or 1.0
        # A passage must match two of the question's words (or its only one): one word shared
        # with a question about something else ("weather" in "the weather in Seattle") is not enough.
        needed = min(query.min_words, len(idf))
        scored = [(*self._score(chunk, idf, stats.average_length), chunk) for chunk in found]
        scored.sort(key=lambda scores: scores[0], reverse=True)
        return [
            _passage(chunk, score)
            for score, matched, words_matched, chunk in scored[: query.k]
            if score > 0 and score >= query.min_score and matched / weight >= query.min_coverage and words_matched >= needed
        ]

    async def _index_stats(self) -> IndexStats:
        now = time.monotonic()
        if self._stats is None or now - self._stats.read_at > STATS_TTL_S:
            stats = await self._store.stats()
            if self._stats is None or stats != self._stats.stats:
                self._frequencies.clear()  # the index changed: its counts did too
            self._stats = _Cached(stats, now)
        return self._stats.stats

    async def _idf(self, asked: list[str], stats: IndexStats) -> dict[str, float]:
        missing = [w for w in asked if w not in self._frequencies]
        if missing and len(self._frequencies) + len(missing) > MAX_CACHED_WORDS:
            self._frequencies.clear()
        if missing:
            self._frequencies.update(await self._store.document_frequencies(missing))
        idf: dict[str, float] = {}
        n = stats.chunks
        for word in asked:
            df = min(self._frequencies.get(word, 0), n)
            # Several words may share a stem ("return", "returns"): the stem takes the rarest reading.
            weight = math.log(1 + (n - df + 0.5) / (df + 0.5))
            key = stem(word)
            idf[key] = max(idf.get(key, 0.0), weight)
        return idf

    @staticmethod
    def _score(chunk: CandidateChunk, idf: dict[str, float], average_length: float) -> tuple[float, float, int]:
        """BM25, the IDF weight of the query's terms the chunk holds, and how many of them."""
        heading = tokens(chunk.title) + tokens(chunk.section)
        counts = Counter(tokens(chunk.text) + heading * 2)
        length = sum(counts.values())
        norm = K1 * (1 - B + B * length / average_length) if average_length else K1
        score = matched = 0.0
        terms = 0
        for term, weight in idf.items():
            tf = counts.get(term)
            if tf:
                score += weight * tf * (K1 + 1) / (tf + norm)
                matched += weight
                terms += 1
        return score, matched, terms


def _passage(chunk: CandidateChunk, score: float) -> Passage:
    return Passage(
        id=f"{chunk.document_id}:{chunk.ordinal}",
        collection=chunk.collection,
        title=chunk.title,
        section=tuple(chunk.section.split(" › ")) if chunk.section else (),
        source=chunk.source,
        text=chunk.text,
        score=score,
        url=chunk.url,
    )

"""Ranking what the full-text index finds: BM25 over the candidates, the same on every database,
fused with the nearest chunks by meaning when semantic search is on.

The index (FTS5 or PostgreSQL's) picks candidates by its own rank; this module scores them with
Okapi BM25 from the index's counts, so a score, and so a route's `min_score`, means the same on
SQLite and on PostgreSQL. Document frequencies are cached until the index changes; a chunk's
term counts are the ones stored with it at ingest.

Hybrid search (given an `Encoder`) also ranks the chunks by the cosine similarity of their
vectors to the question's (`agent.knowledge.vectors`), and fuses the two rankings by reciprocal
rank fusion: a chunk scores the sum of 1 / (60 + its rank) in each ranking it is in. A passage
is returned when the words find it as a BM25-only search would (`min_score`, `min_coverage`), or
when its meaning is close enough (`min_similarity`, a cosine): a question sharing no word with
its answer is found, and one about something else still finds nothing. Its `score` is then the
fused one, scaled so that 1.0 is first in both rankings and 0.5 first in one and absent from the other.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import Counter
from dataclasses import dataclass

from agent.contracts import KnowledgeQuery, Passage
from agent.knowledge.embeddings import Encoder, on_encoder_thread
from agent.knowledge.vectors import InProcessVectors, VectorIndex
from agent.store.knowledge import CandidateChunk, IndexStats, KnowledgeStore, chunk_terms, count_of, encode_terms, term_needle
from agent.terms import stem, words

MAX_QUERY_WORDS = 24  # a 4,000-character message asks the index for its first 24 meaningful words
STATS_TTL_S = 5.0  # how stale the index's size may be (another process may ingest meanwhile)
COMMON_SHARE = 0.1  # a word in more than this share of chunks is common
RARE_FIRST_ROWS = 25  # ...and worth leaving out of a first ask when its rows pass 25 per candidate kept
MAX_CACHED_WORDS = 50_000  # customers' words are unbounded (typos, other scripts): the cache is not
K1, B = 1.2, 0.75
RRF_K = 60  # reciprocal rank fusion's constant, as Cormack et al. chose it
RRF_SCALE = (RRF_K + 1) / 2  # a fused score of 1.0: first in both rankings
MIN_SIMILARITY = 0.5

# BM25, the share of the query's weight matched, whether it holds enough of the query's words, the chunk
Scored = tuple[float, float, bool, CandidateChunk]


@dataclass(slots=True)
class _Cached:
    stats: IndexStats
    read_at: float


class KnowledgeSearch:
    """The `Retriever` on the store: BM25 alone, or hybrid with an `encoder` (see the module's docstring)."""

    def __init__(
        self,
        store: KnowledgeStore,
        candidates: int = 40,
        encoder: Encoder | None = None,
        min_similarity: float = MIN_SIMILARITY,
        vectors: VectorIndex | None = None,
    ) -> None:
        self._store = store
        self._candidates = candidates
        self._stats: _Cached | None = None
        self._frequencies: dict[str, int] = {}
        self._encoder = encoder
        self._min_similarity = min_similarity
        self._vectors = vectors or (InProcessVectors(store, encoder.dimensions) if encoder is not None else None)

    @property
    def mode(self) -> str:
        return "bm25" if self._encoder is None else "hybrid"

    async def search(self, query: KnowledgeQuery) -> list[Passage]:
        if self._encoder is not None:
            return await self._hybrid(query)
        asked = _asked(query)
        if not asked or query.k <= 0:
            return []
        stats = await self._index_stats()
        if stats.chunks == 0:
            return []
        scored = await self._lexical(asked, query, stats)
        return [_passage(chunk, score) for score, coverage, enough, chunk in scored[: query.k] if _passes(score, coverage, enough, query)]

    async def _lexical(self, asked: list[str], query: KnowledgeQuery, stats: IndexStats) -> list[Scored]:
        """The index's candidates, best first by BM25."""
        idf = await self._idf(asked, stats)
        limit = max(self._candidates, query.k * 4)
        # The index is asked for the rarer words first when the common ones would make it rank
        # thousands of rows to keep forty (a word in a tenth of all chunks, in a large knowledge
        # base). The common words still count in the ranking, and are asked for too when the rare
        # ones alone find too few candidates. A small knowledge base is asked once, for every word.
        rare = [w for w in asked if self._frequencies.get(w, 0) <= stats.chunks * COMMON_SHARE]
        common_rows = sum(self._frequencies.get(w, 0) for w in asked if w not in rare)
        weight = sum(idf.values()) or 1.0
        # A passage must hold two of the question's words (or its only one): one word shared with
        # a question about something else ("weather" in "the weather in Seattle") is not enough.
        needed = min(query.min_words, len(idf))
        needles = [(term_needle(term), term_idf) for term, term_idf in idf.items()]

        def ranked(found: list[CandidateChunk]) -> list[Scored]:
            scored = []
            for chunk in found:
                score, matched, terms = self._score(chunk, needles, stats.average_length)
                scored.append((score, matched / weight, terms >= needed, chunk))
            scored.sort(key=lambda scores: scores[0], reverse=True)
            return scored

        if rare and common_rows > limit * RARE_FIRST_ROWS:
            found = await self._store.candidates(rare, query.collections, limit)
            scored = ranked(found)
            # PostgreSQL's own stemmer may match a rare word our terms do not ("quick" in
            # "quickly"): candidates none of whose words score are no candidates at all.
            if len(found) == limit and scored[0][0] > 0:
                return scored
        found = await self._store.candidates(asked, query.collections, limit)
        return ranked(found) if found else []

    async def _hybrid(self, query: KnowledgeQuery) -> list[Passage]:
        assert self._encoder is not None and self._vectors is not None
        if query.k <= 0 or not query.text.strip():
            return []
        stats = await self._index_stats()
        if stats.chunks == 0:
            return []
        asked = _asked(query)
        # A question of stopwords alone ("how do I do that?") has no words to find, but a meaning.
        lexical, nearest = await asyncio.gather(
            self._lexical(asked, query, stats) if asked else _no_candidates(), self._nearest(query)
        )
        fused: Counter[int] = Counter()
        for rank, (_, _, _, chunk) in enumerate(lexical, 1):
            fused[chunk.id] += 1 / (RRF_K + rank)
        for rank, (chunk_id, _) in enumerate(nearest, 1):
            fused[chunk_id] += 1 / (RRF_K + rank)
        similarity = dict(nearest)
        passing = {chunk.id for score, coverage, enough, chunk in lexical if _passes(score, coverage, enough, query)}
        passing |= {chunk_id for chunk_id, cosine in nearest if cosine >= self._min_similarity}
        best = sorted(passing, key=lambda chunk_id: (fused[chunk_id], similarity.get(chunk_id, -1.0)), reverse=True)[: query.k]
        chunks = {chunk.id: chunk for _, _, _, chunk in lexical}
        chunks.update((chunk.id, chunk) for chunk in await self._store.chunks([i for i in best if i not in chunks]))
        # A chunk replaced since the vectors were read is gone: it is skipped, not an error.
        return [_passage(chunks[chunk_id], fused[chunk_id] * RRF_SCALE) for chunk_id in best if chunk_id in chunks]

    async def _nearest(self, query: KnowledgeQuery) -> list[tuple[int, float]]:
        assert self._encoder is not None and self._vectors is not None
        [vector] = await on_encoder_thread(self._encoder.encode, [query.text])
        return await self._vectors.nearest(vector, query.collections, max(self._candidates, query.k * 4))

    async def _index_stats(self) -> IndexStats:
        now = time.monotonic()
        if self._stats is None or now - self._stats.read_at > STATS_TTL_S:
            stats = await self._store.stats()
            if self._stats is None or stats != self._stats.stats:
                self._frequencies.clear()  # the index changed: its counts did too, and its vectors
                if self._vectors is not None:
                    self._vectors.changed()
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
    def _score(chunk: CandidateChunk, needles: list[tuple[str, float]], average_length: float) -> tuple[float, float, int]:
        """BM25, the IDF weight of the query's terms the chunk holds, and how many of them
        (`needles`: each query term's `term_needle` and IDF, in the query's order)."""
        counted, length = chunk.terms, chunk.length
        if counted is None:  # stored without its counts: counted here, as at ingest
            counts = chunk_terms(chunk.title, chunk.section, chunk.text)
            counted, length = encode_terms(counts), sum(counts.values())
        norm = K1 * (1 - B + B * length / average_length) if average_length else K1
        score = matched = 0.0
        terms = 0
        for needle, weight in needles:
            tf = count_of(counted, needle)
            if tf:
                score += weight * tf * (K1 + 1) / (tf + norm)
                matched += weight
                terms += 1
        return score, matched, terms


def _asked(query: KnowledgeQuery) -> list[str]:
    return list(dict.fromkeys(words(query.text)))[:MAX_QUERY_WORDS]


def _passes(score: float, coverage: float, enough: bool, query: KnowledgeQuery) -> bool:
    """Whether the words found an answer: BM25 above the floor, enough of the question matched."""
    return score > 0 and score >= query.min_score and coverage >= query.min_coverage and enough


async def _no_candidates() -> list[Scored]:
    return []


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

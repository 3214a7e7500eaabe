"""Part of the composition root: the knowledge base's search (by words, or hybrid with the
`semantic` extra's encoder), and its configured sources, ingested at start-up."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import structlog
from aiohttp import web

from agent.contracts import KnowledgeQuery
from agent.knowledge.embeddings import Encoder, on_encoder_thread, semantic_encoder
from agent.knowledge.ingest import IngestReport, ingest
from agent.knowledge.search import KnowledgeSearch
from agent.settings import RetrievalSettings, Settings
from agent.store import Database
from agent.store.knowledge import KnowledgeStore

log = structlog.get_logger(__name__)


def knowledge_encoder(settings: Settings) -> Encoder | None:
    """The encoder hybrid search needs, when `knowledge.semantic` asks for it and the extra is
    installed (if not, `semantic_encoder` says so); the search mode is logged, once per process."""
    encoder = semantic_encoder() if settings.knowledge.semantic else None
    log.info("knowledge_search", mode="hybrid" if encoder is not None else "bm25")
    return encoder


def build_knowledge_search(settings: Settings, database: Database, encoder: Encoder | None) -> KnowledgeSearch:
    return KnowledgeSearch(KnowledgeStore(database), encoder=encoder, min_similarity=settings.knowledge.min_similarity)


async def ingest_sources(settings: Settings, store: KnowledgeStore, encoder: Encoder | None = None) -> list[IngestReport]:
    """Every `knowledge.sources` entry, into its collection; only what changed is written, and
    documents gone from a source folder are removed."""
    reports = []
    for source in settings.knowledge.sources:
        try:
            report = await ingest(store, [settings.resolve(source.path)], source.collection, prune=True, encoder=encoder)
        except Exception:
            # What is stored already is still searched; a broken source must not keep the server down.
            log.exception("knowledge_ingest_failed", collection=source.collection, path=str(source.path))
            continue
        log.info(
            "knowledge_ingested" if report.changed else "knowledge_current",
            collection=source.collection,
            added=len(report.added),
            updated=len(report.updated),
            unchanged=len(report.unchanged),
            removed=len(report.removed),
            skipped=len(report.skipped),
            **({"encoded": report.encoded} if encoder is not None else {}),
        )
        reports.append(report)
    return reports


def knowledge_ctx(
    settings: Settings, store: KnowledgeStore, encoder: Encoder | None = None
) -> Callable[[web.Application], AsyncIterator[None]]:
    async def context(_app: web.Application) -> AsyncIterator[None]:
        reports = await ingest_sources(settings, store, encoder)
        if encoder is not None and not any(report.encoded for report in reports):
            # Loads the model now, so the first customer's question does not wait for it.
            await on_encoder_thread(encoder.encode, ["warm-up"])
        yield

    return context


def knowledge_query(retrieval: RetrievalSettings) -> KnowledgeQuery:
    """The query a turn makes of the knowledge base, but for its text."""
    return KnowledgeQuery(
        "", tuple(retrieval.collections), retrieval.k, retrieval.min_score, retrieval.min_coverage, retrieval.min_words
    )


def retrieval_by_route(settings: Settings) -> dict[str, KnowledgeQuery]:
    """Each route's retrieval: its own `knowledge`, else `knowledge.retrieval` (under "*")."""
    queries = {"*": knowledge_query(settings.knowledge.retrieval)}
    for name, route in settings.routes.items():
        if route.knowledge is not None:
            queries[name] = knowledge_query(route.knowledge)
    return queries

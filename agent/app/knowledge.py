"""Part of the composition root: the knowledge base's configured sources, ingested at start-up."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import structlog
from aiohttp import web

from agent.knowledge.ingest import IngestReport, ingest
from agent.settings import Settings
from agent.store.knowledge import KnowledgeStore

log = structlog.get_logger(__name__)


async def ingest_sources(settings: Settings, store: KnowledgeStore) -> list[IngestReport]:
    """Every `knowledge.sources` entry, into its collection; only what changed is written, and
    documents gone from a source folder are removed."""
    reports = []
    for source in settings.knowledge.sources:
        try:
            report = await ingest(store, [settings.resolve(source.path)], source.collection, prune=True)
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
        )
        reports.append(report)
    return reports


def knowledge_ctx(settings: Settings, store: KnowledgeStore) -> Callable[[web.Application], AsyncIterator[None]]:
    async def context(_app: web.Application) -> AsyncIterator[None]:
        await ingest_sources(settings, store)
        yield

    return context

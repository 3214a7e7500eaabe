"""Ingesting documents: walk the paths, skip what has not changed, switch each changed document in whole.

Idempotent by content hash: a file whose bytes are already stored is not even parsed. A file
that cannot be read or parsed is reported with its reason and the rest go on; a document is
replaced in one transaction, so a search never sees half of one. With `prune`, documents of the
collection that are no longer found are removed.

Given an `Encoder`, each added or changed document's chunks get their vectors for semantic search,
computed before its transaction; so do the documents stored without them (ingested while semantic
search was off), once. An unchanged document that has its vectors is not encoded again.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import structlog

from agent.knowledge.discover import discover
from agent.knowledge.embeddings import Encoder, embed_document, on_encoder_thread
from agent.knowledge.parsing import UnreadableDocument, parse_document
from agent.store.knowledge import KnowledgeStore

log = structlog.get_logger(__name__)


@dataclass(slots=True)
class IngestReport:
    collection: str
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    embedded: list[str] = field(default_factory=list)  # unchanged, but stored without vectors until now
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (file, why)
    chunks: int = 0  # in the documents added or updated
    encoded: int = 0  # chunks given a vector
    seconds: float = 0.0

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed or self.embedded)

    def summary(self) -> str:
        embedded = f", {len(self.embedded)} given vectors" if self.embedded else ""
        encoded = f", {self.encoded} encoded" if self.encoded else ""
        return (
            f"{self.collection}: {len(self.added)} added, {len(self.updated)} updated, {len(self.unchanged)} unchanged, "
            f"{len(self.removed)} removed{embedded}, {len(self.skipped)} skipped ({self.chunks} chunks{encoded}, {self.seconds:.2f} s)"
        )


async def ingest(
    store: KnowledgeStore,
    paths: Sequence[Path],
    collection: str,
    prune: bool = False,
    progress: Callable[[str], None] | None = None,
    encoder: Encoder | None = None,
) -> IngestReport:
    started = time.perf_counter()
    report = IngestReport(collection)
    walk = discover(paths)
    report.skipped.extend((str(skip.path), skip.reason) for skip in walk.skipped)
    known = await store.hashes(collection)
    without_vectors = await store.unembedded(collection) if encoder is not None else set()
    seen: dict[str, Path] = {}
    for found in walk.found:
        if found.source in seen:  # two folders with a faq.md each: the first keeps the name
            report.skipped.append((str(found.path), f"same name as {seen[found.source]} in this collection"))
            continue
        seen[found.source] = found.path
        if progress is not None:
            progress(found.source)
        try:
            data = found.path.read_bytes()
        except OSError as exc:
            report.skipped.append((str(found.path), exc.strerror or type(exc).__name__))
            continue
        content_hash = hashlib.sha256(data).hexdigest()
        if known.get(found.source) == content_hash and found.source not in without_vectors:
            report.unchanged.append(found.source)
            continue
        try:
            record = parse_document(found.path, data, collection=collection, source=found.source)
        except UnreadableDocument as exc:
            report.skipped.append((str(found.path), exc.reason))
            continue
        # Encoding takes a CPU for a while: off the event loop.
        embeddings = await on_encoder_thread(embed_document, encoder, record) if encoder is not None else None
        report.encoded += len(embeddings or ())
        change = await store.put(record, embeddings)
        lists = {"added": report.added, "updated": report.updated, "embedded": report.embedded}
        lists.get(change, report.unchanged).append(found.source)
        if change in ("added", "updated"):
            report.chunks += len(record.chunks)
    # A folder that is not there (unmounted, mistyped) prunes nothing: it would empty the collection.
    if prune and all(path.exists() for path in paths):
        gone = sorted(set(known) - set(seen))
        if gone:
            await store.remove(collection, gone)
            report.removed.extend(gone)
    report.seconds = time.perf_counter() - started
    for path, reason in report.skipped:
        log.warning("document_skipped", collection=collection, path=path, reason=reason)
    return report

"""A file's bytes as a DocumentRecord: titled, cut into chunks by section, hashed. Pure: no I/O.

Markdown, HTML, plain text and FAQ files (CSV, JSON Lines) are read; anything else, or a file
that is empty, binary, not UTF-8 or too large, is an UnreadableDocument with a reason to show.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

from agent.contracts.knowledge import DocumentRecord
from agent.knowledge.parsing.blocks import Parsed
from agent.knowledge.parsing.decode import decoded
from agent.knowledge.parsing.errors import UnreadableDocument
from agent.knowledge.parsing.faq import parse_csv, parse_jsonl
from agent.knowledge.parsing.html import parse_html
from agent.knowledge.parsing.markdown import parse_markdown
from agent.knowledge.parsing.plain import parse_plain

__all__ = ["MAX_DOCUMENT_BYTES", "SUPPORTED_SUFFIXES", "UnreadableDocument", "parse_document", "unsupported"]

MAX_DOCUMENT_BYTES = 2 * 1024 * 1024

_PARSERS: dict[str, Callable[[str, str], Parsed]] = {
    ".md": parse_markdown,
    ".markdown": parse_markdown,
    ".html": parse_html,
    ".htm": parse_html,
    ".txt": parse_plain,
    ".csv": parse_csv,
    ".jsonl": parse_jsonl,
}
SUPPORTED_SUFFIXES = frozenset(_PARSERS)


def unsupported(path: Path) -> str | None:
    """Why a file of this name is not read ("unsupported file type .pdf"), or None when it is."""
    suffix = path.suffix.lower()
    if suffix in _PARSERS:
        return None
    return f"unsupported file type {suffix}" if suffix else "unsupported file type (no suffix)"


def parse_document(
    path: Path, data: bytes, *, collection: str, source: str, max_bytes: int = MAX_DOCUMENT_BYTES
) -> DocumentRecord:
    """`data`, the bytes of the file at `path`, parsed by its suffix; UnreadableDocument if it cannot be."""
    if reason := unsupported(path):
        raise UnreadableDocument(reason)
    parsed = _PARSERS[path.suffix.lower()](decoded(data, max_bytes), path.stem)
    if not parsed.chunks:
        raise UnreadableDocument("no text")
    return DocumentRecord(
        collection=collection,
        source=source,
        title=parsed.title,
        content_hash=hashlib.sha256(data).hexdigest(),
        chunks=parsed.chunks,
        url=parsed.url,
        metadata=parsed.metadata,
    )

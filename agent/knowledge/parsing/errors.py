"""Why a file could not become a document, in words an ingest report can show as they are."""

from __future__ import annotations


class UnreadableDocument(ValueError):
    """The file was refused; `reason` is short human text ("empty file", "bad JSON on line 3")."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason

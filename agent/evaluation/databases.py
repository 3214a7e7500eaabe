"""A fresh database for every conversation run: SQLite files in a temporary folder, each a copy of
one migrated with the knowledge base ingested, so a run pays for neither the migrations nor the
ingest again. A configured database (`database.url`) is used as it is instead, for every run.
"""

from __future__ import annotations

import asyncio
import sqlite3
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from agent.app.knowledge import ingest_sources
from agent.settings import Settings
from agent.store import Database
from agent.store.knowledge import KnowledgeStore
from agent.store.migrate import upgrade


class Databases:
    """Where each run's conversation is stored; `fresh` gives the URL for one run."""

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder  # None: the configured database
        self._templates: dict[str, Path] = {}
        self._prepared: set[str] = set()
        self._count = 0

    async def fresh(self, settings: Settings) -> str:
        """A database URL for one run of a conversation with `settings`, its knowledge ingested."""
        knowledge = settings.knowledge.model_dump_json()
        if self.folder is None:
            url = settings.database_url
            if url not in self._prepared:  # the configured database is made current once per run of the suite
                if settings.is_embedded_database:
                    await asyncio.to_thread(upgrade, url)
                self._prepared.add(url)
            if url + knowledge not in self._prepared:
                await _ingest(settings, url)
                self._prepared.add(url + knowledge)
            return url
        template = self._templates.get(knowledge)
        if template is None:
            template = self.folder / f"template-{len(self._templates)}.db"
            url = _sqlite_url(template)
            await asyncio.to_thread(upgrade, url)
            await _ingest(settings, url)
            self._templates[knowledge] = template
        self._count += 1
        copy = self.folder / f"run-{self._count}.db"
        await asyncio.to_thread(_copy, template, copy)
        return _sqlite_url(copy)


@asynccontextmanager
async def run_databases(settings: Settings) -> AsyncIterator[Databases]:
    """Temporary SQLite files, removed afterwards; the configured database when `database.url` names one."""
    if settings.database.url:
        yield Databases(None)
        return
    with tempfile.TemporaryDirectory(prefix="switchboard-conversations-") as folder:
        yield Databases(Path(folder))


async def _ingest(settings: Settings, url: str) -> None:
    database = Database(url)
    try:
        await ingest_sources(settings, KnowledgeStore(database))
    finally:
        await database.dispose()


def _copy(source: Path, target: Path) -> None:
    # SQLite's own backup, which also carries what is still in the write-ahead log.
    with sqlite3.connect(source) as origin, sqlite3.connect(target) as copy:
        origin.backup(copy)
    origin.close()
    copy.close()


def _sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"

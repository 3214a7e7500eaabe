"""Where the store's units of work run: the engine and thread that suit the database.

Every query is written once, as blocking SQLModel code on a `Session`. On PostgreSQL it runs
over asyncpg through `AsyncSession.run_sync`; on SQLite it runs on one dedicated thread with
the plain sqlite3 driver, which costs one thread hop per unit of work instead of several per
statement, and matches SQLite's single writer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import Session
from sqlmodel.ext.asyncio.session import AsyncSession

from agent.store.engine import create_engine, prepare_sqlite_file, tune_sqlite

T = TypeVar("T")


class Database:
    def __init__(self, url: str, echo: bool = False) -> None:
        parsed = make_url(url)
        self.display_url = parsed.render_as_string(hide_password=True)
        self.backend = parsed.get_backend_name()  # "sqlite" | "postgresql"
        self._sync: Engine | None = None
        self._async: AsyncEngine | None = None
        self._thread: ThreadPoolExecutor | None = None
        if parsed.get_backend_name() == "sqlite":
            prepare_sqlite_file(parsed.database)
            self._sync = create_sync_engine(
                parsed.set(drivername="sqlite"),
                echo=echo,
                connect_args={"check_same_thread": False},
                pool_size=1,
                max_overflow=0,
            )
            event.listen(self._sync, "connect", tune_sqlite)
            self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite")
        else:
            self._async = create_engine(url, echo=echo)

    async def run(self, work: Callable[[Session], T]) -> T:
        """Run `work` in a new session; it commits what it wants kept."""
        if self._thread is not None:
            return await asyncio.get_running_loop().run_in_executor(self._thread, self._run_sync, work)
        assert self._async is not None
        async with AsyncSession(self._async, expire_on_commit=False) as session:
            return await session.run_sync(lambda sync_session: work(sync_session))  # type: ignore[arg-type]

    def _run_sync(self, work: Callable[[Session], T]) -> T:
        with Session(self._sync, expire_on_commit=False) as session:
            return work(session)

    async def dispose(self) -> None:
        if self._thread is not None:
            assert self._sync is not None
            await asyncio.get_running_loop().run_in_executor(self._thread, self._sync.dispose)
            self._thread.shutdown(wait=True)
        if self._async is not None:
            await self._async.dispose()

"""Running the Alembic migrations, the only way the schema is made."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

class DatabaseNotReady(RuntimeError):
    """The database cannot be reached, or its schema is not at the migrations' head."""


MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "alembic"


def alembic_config(url: str) -> Config:
    if not (MIGRATIONS_DIR / "env.py").exists():
        raise RuntimeError(
            f"migrations not found at {MIGRATIONS_DIR}; install Switchboard from its source tree (pip install -e .)"
        )
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database at `url` up to `revision`. Blocking: call it outside the event loop."""
    command.upgrade(alembic_config(url), revision)


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


async def current_revision(engine: AsyncEngine) -> str | None:
    async with engine.connect() as connection:
        return await connection.run_sync(
            lambda sync_conn: MigrationContext.configure(sync_conn).get_current_revision()
        )


async def ensure_current(engine: AsyncEngine) -> None:
    """Refuse to serve on a database that is unreachable or not fully migrated."""
    where = engine.url.render_as_string(hide_password=True)
    try:
        revision = await current_revision(engine)
    except (OSError, SQLAlchemyError) as exc:
        raise DatabaseNotReady(f"cannot reach the database {where}: {exc}") from exc
    head = head_revision()
    if revision != head:
        raise DatabaseNotReady(
            f"the database {where} is at revision {revision}, not {head}: run `switchboard db upgrade`"
        )

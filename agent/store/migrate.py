"""Running the Alembic migrations, the only way the schema is made."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy.exc import SQLAlchemyError

from agent.store.conversations import ConversationStore

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


async def ensure_current(store: ConversationStore) -> None:
    """Refuse to serve on a database that is unreachable or not fully migrated."""
    where = store.database.display_url
    try:
        revision = await store.schema_revision()
    except (OSError, SQLAlchemyError) as exc:
        raise DatabaseNotReady(f"cannot reach the database {where}: {exc}") from exc
    head = head_revision()
    if revision != head:
        raise DatabaseNotReady(
            f"the database {where} is at revision {revision}, not {head}: run `switchboard db upgrade`"
        )

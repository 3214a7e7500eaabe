"""What the commands share: the --config option, loading settings, and running on the database."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import click

# Commands import what they run on, so `switchboard --help` loads none of it.
if TYPE_CHECKING:
    from agent.settings import Settings
    from agent.store import Database

T = TypeVar("T")

config_option = click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="SWITCHBOARD_CONFIG",
    help="YAML configuration file (default: the shipped one).",
)


def load_config(config_path: Path | None) -> Settings:
    from agent.settings import ConfigError, load_settings

    try:
        return load_settings(config_path)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc


def prepare_embedded_database(settings: Settings) -> None:
    from agent.store.migrate import upgrade

    # An embedded SQLite database is ours to manage; a shared PostgreSQL is upgraded on purpose.
    if settings.is_embedded_database:
        upgrade(settings.database_url)


def on_database(settings: Settings, action: Callable[[Database], Awaitable[T]]) -> T:
    """Run `action` on the configured database (made current first when embedded)."""
    import asyncio

    from agent.store import Database

    prepare_embedded_database(settings)

    async def run() -> T:
        database = Database(settings.database_url)
        try:
            return await action(database)
        finally:
            await database.dispose()

    return asyncio.run(run())

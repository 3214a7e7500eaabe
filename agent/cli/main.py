"""The `switchboard` command: serve, chat, db upgrade, kb, router, staff, demo-store, test."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from agent.cli.common import config_option, load_config, prepare_embedded_database
from agent.cli.conversations import test_group
from agent.cli.demo_store import demo_store_command
from agent.cli.kb import kb_group
from agent.cli.router import router_group
from agent.cli.staff import staff_group

# Each command imports what it runs on, asyncio too, so `switchboard --help` loads none of it.
if TYPE_CHECKING:
    from agent.settings import Settings



@click.group()
def main() -> None:
    """Switchboard: a conversational agent platform."""


@main.command()
@config_option
@click.option("--host", default=None, help="Interface to listen on (default from config: 127.0.0.1).")
@click.option("--port", default=None, type=int, help="Port to listen on (default from config: 8080).")
def serve(config_path: Path | None, host: str | None, port: int | None) -> None:
    """Run the server: web chat at /, its API under /api/."""
    from aiohttp import web

    from agent.app.server import create_app
    from agent.logs import configure_logging
    from agent.settings import ConfigError
    from agent.store.migrate import DatabaseNotReady
    from personas import PersonaError

    settings = load_config(config_path)
    configure_logging(settings.log.level, settings.log.format)
    host = host or settings.server.host
    port = settings.server.port if port is None else port
    try:
        prepare_embedded_database(settings)
        app = create_app(settings)
    except (ConfigError, PersonaError, ValueError, OSError) as exc:
        raise click.ClickException(str(exc)) from exc
    ready = f"Switchboard on http://{host}:{port}/  (Ctrl+C to stop)"
    try:
        # aiohttp prints once the site is listening, so the line means "ready".
        web.run_app(app, host=host, port=port, print=lambda _: click.echo(ready, err=True), access_log=None)
    except DatabaseNotReady as exc:
        raise click.ClickException(str(exc)) from exc
    except OSError as exc:  # the port is taken, or the host cannot be bound
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc


@main.command()
@config_option
def chat(config_path: Path | None) -> None:
    """Talk to the bot in this terminal, through the same conversation manager."""
    import asyncio

    from agent.logs import configure_logging

    settings = load_config(config_path)
    configure_logging("warning", "console")
    prepare_embedded_database(settings)
    asyncio.run(_chat(settings))


async def _chat(settings: Settings) -> None:
    import httpx

    from agent.app.demo_store import serving_demo_store
    from agent.app.knowledge import ingest_sources
    from agent.app.manager import build_manager
    from agent.app.staff import build_handoff
    from agent.store import Database, ConversationStore
    from agent.store.knowledge import KnowledgeStore
    from channels.terminal import TerminalChat

    store = ConversationStore(Database(settings.database_url))
    await ingest_sources(settings, KnowledgeStore(store.database))
    provided: dict[str, str] = {}
    async with httpx.AsyncClient() as client, serving_demo_store(settings, provided):
        manager = build_manager(settings, store, client, tool_variables=provided)
        handoff = build_handoff(settings, manager, store.database)
        try:
            await TerminalChat(manager, handoff.withdraw, manager.persona.name, manager.persona.greeting).run()
        finally:
            await store.close()


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@config_option
@click.option("--revision", default="head", show_default=True)
def db_upgrade(config_path: Path | None, revision: str) -> None:
    """Apply migrations up to REVISION."""
    from agent.store.migrate import upgrade

    settings = load_config(config_path)
    upgrade(settings.database_url, revision)
    click.echo(f"database at {revision}", err=True)


main.add_command(kb_group)
main.add_command(router_group)
main.add_command(staff_group)
main.add_command(demo_store_command)
main.add_command(test_group)


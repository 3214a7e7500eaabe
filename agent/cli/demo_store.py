"""`switchboard demo-store`: the demo business's order system as an HTTP API, for the demo's `http` tools."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

# aiohttp and asyncio are imported when the command runs, so `switchboard --help` loads neither.
if TYPE_CHECKING:
    from aiohttp import web

_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


@click.command("demo-store")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option(
    "--port", default=8090, show_default=True, type=click.IntRange(0, 65535), help="Port to listen on (0: any free one)."
)
@click.option("--orders", "orders_path", type=_FILE, default=None, help="Orders YAML file (default: the demo's).")
@click.option("--catalog", "catalog_path", type=_FILE, default=None, help="Catalog YAML file (default: the demo's).")
def demo_store_command(host: str, port: int, orders_path: Path | None, catalog_path: Path | None) -> None:
    """Serve the demo store's orders and catalog API (orders, cancellations, identity checks, products).

    State is in memory: a cancellation lasts until the command stops."""
    import asyncio

    from agent.demo_store import DataError, create_demo_store
    from agent.demo_store.data import DEMO_CATALOG, DEMO_ORDERS
    from agent.logs import configure_logging

    configure_logging("info", "auto")
    try:
        app = create_demo_store(orders_path or DEMO_ORDERS, catalog_path or DEMO_CATALOG)
    except DataError as exc:
        raise click.ClickException(str(exc)) from exc
    try:
        asyncio.run(_serve(app, host, port))
    except OSError as exc:  # the port is taken, or the host cannot be bound
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc


async def _serve(app: web.Application, host: str, port: int) -> None:
    import asyncio
    import signal

    from aiohttp import web

    runner = web.AppRunner(app, access_log=None, shutdown_timeout=2)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
        bound = runner.addresses[0][1]  # the port the system chose, for --port 0
        shown = f"[{host}]" if ":" in host else host
        click.echo(f"Demo store on http://{shown}:{bound}/  (Ctrl+C to stop)", err=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await stop.wait()
    finally:
        await runner.cleanup()

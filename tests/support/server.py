"""Running the real aiohttp server on a loopback port for a test."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiohttp import web

from agent.app.server import create_app
from agent.settings import Settings
from agent.store.migrate import upgrade


@asynccontextmanager
async def running_app(app: web.Application) -> AsyncIterator[str]:
    runner = web.AppRunner(app, shutdown_timeout=2)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


@asynccontextmanager
async def running_server(settings: Settings) -> AsyncIterator[tuple[str, web.Application]]:
    """Migrate the database, start the server, yield its base URL and app."""
    await asyncio.to_thread(upgrade, settings.database_url)
    app = create_app(settings)
    async with running_app(app) as base_url:
        yield base_url, app

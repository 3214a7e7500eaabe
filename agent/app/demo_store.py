"""Part of the composition root: the demo store's API served beside the agent, on a loopback
port, when `demo_store.serve` is on; its URL becomes the tools' `${DEMO_STORE_URL}`.

A deployment with its own order system turns `serve` off and points the tools at that system.
Set in the environment, `DEMO_STORE_URL` wins: the store then runs elsewhere (`switchboard demo-store`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import structlog
from aiohttp import web

from agent.app.tools import DEMO_STORE_URL
from agent.demo_store import create_demo_store
from agent.settings import Settings, environment

log = structlog.get_logger(__name__)


@asynccontextmanager
async def serving_demo_store(settings: Settings, provided: dict[str, str]) -> AsyncIterator[None]:
    """The demo store listening while the block runs, its URL in `provided`."""
    store = settings.demo_store
    if not store.serve or environment.tool_variable(DEMO_STORE_URL):
        yield
        return
    runner = web.AppRunner(create_demo_store(settings.resolve(store.orders), settings.resolve(store.catalog)), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, store.host, store.port)
    await site.start()
    host, port = runner.addresses[0][:2]
    provided[DEMO_STORE_URL] = f"http://{host}:{port}"
    log.info("demo_store_serving", url=provided[DEMO_STORE_URL])
    try:
        yield
    finally:
        provided.pop(DEMO_STORE_URL, None)
        await runner.cleanup()


def demo_store_ctx(settings: Settings, provided: dict[str, str]) -> Callable[[web.Application], AbstractAsyncContextManager[None]]:
    def context(app: web.Application) -> AbstractAsyncContextManager[None]:
        return serving_demo_store(settings, provided)

    return context

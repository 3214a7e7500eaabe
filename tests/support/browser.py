"""Headless Chromium (Debian's package) driven by Playwright."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from tests.support.services import chromium_path, unavailable

# Without these, Chromium tries to reach the network at start-up.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@asynccontextmanager
async def chromium() -> AsyncIterator["object"]:
    executable = chromium_path()
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        unavailable("playwright is not installed (pip install -e '.[dev]')")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            await browser.close()


async def new_page(browser: Any, *, enforce_csp: bool = False, **options: Any) -> Any:
    """A page in a context of its own. Playwright's wait_for_function evaluates strings, which the
    pages' Content-Security-Policy forbids: only the tests of that policy keep it, and wait on
    selectors alone."""
    context = await browser.new_context(bypass_csp=not enforce_csp, **options)
    return await context.new_page()

"""The chat's scripts are served as JavaScript: browsers refuse to run a module script sent as anything else."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from channels.webchat.routes import STATIC_DIR

JAVASCRIPT = {"text/javascript", "application/javascript"}
SCRIPTS = sorted(path.relative_to(STATIC_DIR).as_posix() for path in STATIC_DIR.rglob("*.js"))


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def test_the_page_loads_the_chat_as_modules_after_a_classic_embed_script() -> None:
    page = (STATIC_DIR / "index.html").read_text()
    assert '<script src="/static/chat/embed-layout.js"></script>' in page
    assert '<script type="module" src="/static/chat/main.js"></script>' in page
    assert {"chat/main.js", "chat/embed-layout.js", "embed.js"} <= set(SCRIPTS)


@pytest.mark.parametrize("script", SCRIPTS)
async def test_each_script_is_served_as_javascript(server: str, session: aiohttp.ClientSession, script: str) -> None:
    async with session.get(f"{server}/static/{script}") as response:
        assert response.status == 200
        assert response.content_type in JAVASCRIPT
        assert (await response.text()).startswith("/* Switchboard ")

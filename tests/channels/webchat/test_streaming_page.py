"""The chat page shows a streamed answer as it is written, then the stored reply in its place."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import SettingsFactory
from tests.support.browser import chromium, new_page
from tests.support.fake_providers import fake_providers
from tests.support.server import running_server

pytestmark = pytest.mark.timeout(90)


async def test_the_answer_streams_into_a_draft_that_the_stored_reply_replaces(make_settings: SettingsFactory) -> None:
    async with fake_providers() as fake:
        slow = {"provider": "openai", "base_url": fake.openai_url, "model": "chunk-delay-0.25+reply-Our_tents_are_rated_for_heavy_rain."}
        settings = make_settings(models={"slow": slow, "local": {"provider": "local"}}, routes={r: {"chain": ["slow", "local"]} for r in ("support", "sales", "lookup")})
        async with running_server(settings) as (base_url, _app), chromium() as browser:
            page = await new_page(browser)
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            await page.goto(base_url + "/")
            await page.wait_for_selector(".msg-greeting")  # the conversation (and its socket) start with the first send
            await page.fill("#input", "are your tents waterproof")
            await page.click("#send")
            # Part of the answer is on screen before the turn has finished.
            await page.wait_for_function("(document.querySelector('.msg-draft .msg-text') || {}).textContent?.includes('tents')")
            partial: Any = await page.locator(".msg-draft .msg-text").inner_text()
            assert partial.startswith("Our tents") and partial != "Our tents are rated for heavy rain."
            assert await page.locator(".msg-bot[data-id]").count() == 0
            final = page.locator(".msg-bot[data-id] .msg-text")
            await final.first.wait_for()
            assert await final.first.inner_text() == "Our tents are rated for heavy rain."
            assert await page.locator(".msg-draft").count() == 0
            assert errors == []

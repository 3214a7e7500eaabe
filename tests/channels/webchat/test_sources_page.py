"""The documents a bot answer cites, under it on the chat page, in a real headless Chromium."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import SettingsFactory
from tests.support.browser import chromium, new_page
from tests.support.knowledge import help_centre, knowledge_settings
from tests.support.server import running_server

pytestmark = pytest.mark.timeout(90)

TENT_POLE = "my tent pole snapped, can I get it replaced?"


@pytest.fixture
async def site(make_settings: SettingsFactory, tmp_path: Path) -> AsyncIterator[str]:
    settings = make_settings(knowledge=knowledge_settings(help_centre(tmp_path / "help")))
    async with running_server(settings) as (base_url, _app):
        yield base_url


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    async with chromium() as browser:
        yield browser


async def ask(page: Any, text: str) -> None:
    await page.fill("#input", text)
    await page.click("#send")


def answer(page: Any, text: str) -> Any:
    return page.locator(".msg-bot[data-id]", has_text=text)


async def test_a_cited_answer_links_its_document_under_the_pages_own_policy(site: str, browser: Any) -> None:
    page = await new_page(browser, enforce_csp=True)
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.on("console", lambda m: problems.append(m.text) if "Content Security Policy" in m.text else None)
    await page.goto(site + "/")
    await ask(page, TENT_POLE)

    reply = answer(page, "A snapped tent pole is replaced free within the two-year warranty")
    link = reply.locator("ul.msg-sources[aria-label='Sources'] > li > a")
    await link.wait_for()
    assert await link.inner_text() == "Warranty and repairs › Broken tent poles"
    assert await link.get_attribute("href") == "https://shop.example/help/warranty"
    assert await link.get_attribute("target") == "_blank"
    assert await link.get_attribute("rel") == "noopener noreferrer"
    # The answer arrives over the socket and in the send's response: its sources are shown once.
    # The next question goes out once that response is handled, and its answer follows on the same socket.
    await ask(page, "does my gift card balance expire?")
    await answer(page, "A gift card balance never expires").locator(".msg-sources").wait_for()
    assert await page.locator("#messages .msg-sources").count() == 2
    assert await reply.locator(".msg-sources").count() == 1
    assert await reply.locator(".msg-source").count() == 1
    assert "Warranty and repairs" not in await reply.locator(".msg-text").inner_text()
    assert problems == []


async def test_a_reloaded_page_shows_an_earlier_answers_sources_from_the_history(site: str, browser: Any) -> None:
    page = await new_page(browser, enforce_csp=True)
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    await page.goto(site + "/")
    await ask(page, TENT_POLE)
    await answer(page, "A snapped tent pole").locator(".msg-sources").wait_for()
    await ask(page, "hello there")
    await answer(page, "What can I do for you?").wait_for()

    # No answer is sent again on the new page's socket: only the history can bring the sources back.
    await page.reload()
    reply = answer(page, "A snapped tent pole is replaced free within the two-year warranty")
    link = reply.locator("ul.msg-sources[aria-label='Sources'] > li > a")
    await link.wait_for(timeout=10_000)
    assert await link.inner_text() == "Warranty and repairs › Broken tent poles"
    assert await link.get_attribute("href") == "https://shop.example/help/warranty"
    assert await link.get_attribute("rel") == "noopener noreferrer"
    # The history is shown in one pass: the later answer, which cites nothing, is there without a list.
    greeting = answer(page, "What can I do for you?")
    assert await greeting.count() == 1 and await greeting.locator(".msg-sources").count() == 0
    assert await page.locator("#messages .msg-sources").count() == 1
    assert problems == []


async def test_a_document_whose_address_is_a_script_is_named_not_linked(site: str, browser: Any) -> None:
    page = await new_page(browser)
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: dialogs.append(dialog.message))
    await page.goto(site + "/")
    await ask(page, "does my gift card balance expire?")

    sources = answer(page, "A gift card balance never expires").locator(".msg-sources")
    await sources.wait_for()
    assert await sources.locator(".msg-source").all_inner_texts() == ["Gift cards › Gift card balance"]
    assert await sources.locator("a").count() == 0
    assert await page.evaluate("document.querySelectorAll('#messages [href]').length") == 0
    await sources.locator(".msg-source").click()
    assert dialogs == []


async def test_an_answer_that_cites_nothing_has_no_sources_list(site: str, browser: Any) -> None:
    page = await new_page(browser)
    await page.goto(site + "/")
    await ask(page, "hello there")
    greeting = answer(page, "What can I do for you?")
    await greeting.wait_for()
    # Asked next, on the same socket: once its sources are shown, the greeting's deliveries are all in.
    await ask(page, TENT_POLE)
    await answer(page, "A snapped tent pole").locator(".msg-sources").wait_for()
    assert await greeting.locator(".msg-sources").count() == 0
    assert await page.locator("#messages .msg-sources").count() == 1


HOSTILE_SOURCES = [
    {"title": "Returns", "section": "", "url": "https://shop.example/returns"},
    {"title": "Returns", "section": "Refunds", "url": "https://shop.example/returns"},  # the same document again
    {"title": "Returns", "section": "Old policy", "url": "http://shop.example/returns-2019"},
    {"title": "Script", "url": " JavaScript:alert(1)"},
    {"title": "Data", "url": "data:text/html,<script>alert(1)</script>"},
    {"title": "Relative", "url": "/help/relative"},
    {"title": "<img src=x onerror=window.pwned=1>", "url": None},
    {"title": 42, "url": "https://shop.example/number"},
    {"title": "", "url": "https://shop.example/untitled"},
    None,
    "not a source",
]


async def test_sources_are_checked_and_written_as_text_whatever_they_hold(site: str, browser: Any) -> None:
    """The page's own renderer, given what a compromised document or server could send."""
    page = await new_page(browser)
    await page.goto(site + "/")
    await ask(page, "hello there")
    greeting = answer(page, "What can I do for you?")
    await greeting.wait_for()
    message_id = await greeting.get_attribute("data-id")

    show = "([id, sources]) => import('/static/chat/render.js').then((render) => render.showSources(id, sources))"
    await page.evaluate(show, [message_id, HOSTILE_SOURCES])
    items = greeting.locator(".msg-sources > li > .msg-source")
    assert await items.all_inner_texts() == [
        "Returns",
        "Returns › Old policy",
        "Script",
        "Data",
        "Relative",
        "<img src=x onerror=window.pwned=1>",
    ]
    assert await items.evaluate_all("(els) => els.map((el) => el.getAttribute('href'))") == [
        "https://shop.example/returns",
        "http://shop.example/returns-2019",
        None,
        None,
        None,
        None,
    ]
    assert await page.evaluate("window.pwned === undefined && document.querySelectorAll('#messages img').length === 0")

    # Shown once: a later delivery of the same message adds nothing.
    await page.evaluate(show, [message_id, [{"title": "Later", "url": "https://shop.example/later"}]])
    assert await greeting.locator(".msg-sources").count() == 1
    assert await items.count() == 6

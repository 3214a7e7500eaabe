"""The chat page and the embed script, in a real headless Chromium."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from tests.support.browser import chromium, new_page
from tests.support.server import running_app, running_server
from tests.support.staff import add_staff, staff_client

pytestmark = pytest.mark.timeout(90)


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    async with chromium() as browser:
        yield browser


async def send(page: Any, text: str) -> None:
    await page.fill("#input", text)
    await page.click("#send")


async def test_chat_reply_and_history_after_reload(server: str, browser: Any) -> None:
    page = await new_page(browser)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    await page.goto(server + "/")
    await page.wait_for_selector(".msg-greeting")
    await page.wait_for_function("document.body.dataset.connected !== undefined")

    await send(page, "where is my order NW-10482")
    bot = page.locator(".msg-bot[data-id] .msg-text")
    await bot.first.wait_for()
    assert "NW-10482" in await bot.first.inner_text()
    assert await page.locator("#typing").get_attribute("hidden") is not None

    await send(page, "<img src=x onerror=\"window.pwned=1\">")
    await page.locator(".msg-bot[data-id]").nth(1).wait_for()
    customer = page.locator(".msg-customer .msg-text")
    assert await customer.nth(1).inner_text() == "<img src=x onerror=\"window.pwned=1\">"
    assert await page.evaluate("window.pwned === undefined && document.querySelectorAll('#messages img').length === 0")

    await page.reload()
    await page.locator(".msg-bot[data-id]").nth(1).wait_for()
    texts = await page.locator("#messages .msg[data-id] .msg-text").all_inner_texts()
    assert texts[0] == "where is my order NW-10482"
    assert len(texts) == 4
    await page.wait_for_function("document.body.dataset.connected === 'true'")
    assert errors == []
    await page.context.close()


async def test_escalation_is_shown_to_the_customer(server: str, browser: Any) -> None:
    page = await new_page(browser)
    await page.goto(server + "/")
    await send(page, "can I talk to a real person")
    await page.wait_for_function("document.body.dataset.state === 'waiting'")
    reply = await page.locator(".msg-bot[data-id] .msg-text").first.inner_text()
    assert "team" in reply.lower()


async def test_the_chat_works_under_its_own_content_security_policy(server: str, browser: Any) -> None:
    page = await new_page(browser, enforce_csp=True)
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.on("console", lambda m: problems.append(m.text) if "Content Security Policy" in m.text else None)
    response = await page.goto(server + "/")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"
    await send(page, "where is my order NW-10482")
    await page.locator(".msg-bot[data-id]").first.wait_for()
    await page.locator("body[data-connected='true']").wait_for(state="attached")  # the socket: connect-src
    assert await page.locator("#typing").get_attribute("hidden") is not None
    assert problems == []


async def test_the_embed_layout_applies_before_the_page_body_is_parsed(server: str, browser: Any) -> None:
    """The chat's modules are deferred: the embed class comes from a classic script in <head>, before any paint."""
    page = await new_page(browser)
    await page.add_init_script("""
        new MutationObserver((_records, observer) => {
          if (!document.body) return;
          window.embedBeforeBody = document.documentElement.classList.contains('embed');
          observer.disconnect();
        }).observe(document, { childList: true, subtree: true });
    """)
    await page.goto(server + "/?embed=1")
    await page.wait_for_selector(".msg-greeting")
    assert await page.evaluate("window.embedBeforeBody") is True
    await page.goto(server + "/")
    await page.wait_for_selector(".msg-greeting")
    assert await page.evaluate("window.embedBeforeBody") is False
    await page.context.close()


async def test_embed_script_on_another_site(server: str, browser: Any) -> None:
    host_page = f"""<!doctype html><html><head><title>Shop</title>
    <style>* {{ font-family: serif; }} button {{ background: red; }}</style></head>
    <body><h1>A shop</h1><script src="{server}/static/embed.js" async></script></body></html>"""

    async def index(_request: web.Request) -> web.Response:
        return web.Response(text=host_page, content_type="text/html")

    host = web.Application()
    host.router.add_get("/", index)
    async with running_app(host) as host_url:
        assert host_url != server
        # The framed page keeps its own policy here: embedding must work under it.
        page = await new_page(browser, enforce_csp=True)
        blocked: list[str] = []
        page.on("console", lambda m: blocked.append(m.text) if "Content Security Policy" in m.text else None)
        await page.goto(host_url + "/")
        await page.click("#switchboard-launcher")
        frame_element = await page.wait_for_selector("#switchboard-frame")
        assert (await frame_element.get_attribute("src")).startswith(server)
        frame = await frame_element.content_frame()
        await frame.wait_for_selector("#input")
        await frame.fill("#input", "what is your return policy")
        await frame.click("#send")
        await frame.locator(".msg-bot[data-id]").first.wait_for()
        assert "return" in (await frame.locator(".msg-bot[data-id] .msg-text").first.inner_text()).lower()
        assert blocked == []


async def test_reconnects_after_the_server_restarts_and_fills_the_gap(make_settings: Any, browser: Any) -> None:
    import asyncio

    import aiohttp

    from agent.app.server import create_app
    from agent.store.migrate import upgrade

    settings = make_settings()
    await asyncio.to_thread(upgrade, settings.database_url)

    async def start(port: int) -> tuple[web.AppRunner, int]:
        runner = web.AppRunner(create_app(settings), shutdown_timeout=1)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", port, reuse_address=True)
        await site.start()
        return runner, runner.addresses[0][1]

    runner, port = await start(0)
    base = f"http://127.0.0.1:{port}"
    page = await new_page(browser)
    await page.goto(base + "/")
    await send(page, "hello there")
    await page.locator(".msg-bot[data-id]").first.wait_for()
    await page.wait_for_function("document.body.dataset.connected === 'true'")
    stored = await page.evaluate("JSON.parse(localStorage.getItem('switchboard.conversation'))")

    await runner.cleanup()
    await page.wait_for_function("document.body.dataset.connected === 'false'")
    assert await page.locator("#status").is_visible()

    runner, _ = await start(port)
    try:
        # A message that arrives while the page is still reconnecting must show up too.
        async with aiohttp.ClientSession() as session:
            url = f"{base}/api/conversations/{stored['conversation_id']}/messages"
            headers = {"Authorization": f"Bearer {stored['token']}"}
            async with session.post(url, json={"text": "what is your return policy"}, headers=headers) as response:
                assert response.status == 200
        await page.wait_for_function("document.body.dataset.connected === 'true'", timeout=20_000)
        await page.locator(".msg-bot[data-id]").nth(1).wait_for(timeout=10_000)
        assert not await page.locator("#status").is_visible()
        texts = await page.locator("#messages .msg[data-id] .msg-text").all_inner_texts()
        assert "what is your return policy" in texts
    finally:
        await runner.cleanup()


async def test_while_a_person_holds_the_conversation_only_the_servers_notices_are_shown(
    make_settings: Any, browser: Any
) -> None:
    settings = make_settings()
    async with running_server(settings) as (base, _app):
        await add_staff(settings, "alice", "Alice Ng")
        page = await new_page(browser)
        await page.goto(base + "/")
        await send(page, "can I talk to a real person")
        await page.wait_for_function("document.body.dataset.state === 'waiting'")
        conversation_id = await page.evaluate("JSON.parse(localStorage.getItem('switchboard.conversation')).conversation_id")
        async with staff_client(base, "alice") as alice:
            status, _ = await alice.act(conversation_id, "claim")
            assert status == 200
        await page.wait_for_function("document.body.dataset.state === 'with_human'")

        # Messages go out one at a time: the second is posted only once the first's answer
        # has been handled, so by then anything the page adds for the first is on screen.
        async with page.expect_request(lambda r: r.method == "POST" and "second one" in (r.post_data or "")):
            await send(page, "first one")
            await send(page, "second one")
        await page.locator(".msg-customer[data-id]", has_text="second one").wait_for()
        assert await page.locator("#messages .msg:not([data-id]):not(.msg-greeting)").count() == 0
        shown = await page.locator("#messages .msg-system .msg-text").all_inner_texts()

        await page.reload()
        await page.locator(".msg-customer[data-id]", has_text="second one").wait_for()
        assert await page.locator("#messages .msg-system .msg-text").all_inner_texts() == shown

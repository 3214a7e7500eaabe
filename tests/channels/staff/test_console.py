"""The staff console page and the customer's chat page together, in real headless Chromium."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.conftest import SettingsFactory
from tests.support.browser import chromium, new_page
from tests.support.client import new_visitor
from tests.support.knowledge import help_centre, knowledge_settings
from tests.support.server import running_server
from tests.support.staff import PASSWORD, add_staff

pytestmark = pytest.mark.timeout(120)
XSS = "<img src=x onerror=window.pwned=1>"
VIEWPORT = {"width": 1280, "height": 720}  # a laptop screen: the message pane is short


@pytest.fixture
async def site(make_settings: SettingsFactory) -> AsyncIterator[str]:
    settings = make_settings()
    async with running_server(settings) as (base_url, _app):
        await add_staff(settings, "alice", "Alice Ng")
        yield base_url


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    async with chromium() as browser:
        yield browser


async def customer_page(browser: Any, base_url: str) -> Any:
    page = await new_page(browser)
    await page.goto(base_url + "/")
    await page.wait_for_selector(".msg-greeting")
    return page


async def customer_says(page: Any, text: str) -> None:
    await page.fill("#input", text)
    await page.click("#send")


async def staff_page(browser: Any, base_url: str, errors: list[str], enforce_csp: bool = False) -> Any:
    page = await new_page(browser, enforce_csp=enforce_csp, viewport=VIEWPORT)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda m: errors.append(m.text) if "Content Security Policy" in m.text else None)
    response = await page.goto(base_url + "/staff")
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    await page.fill("#username", "alice")
    await page.fill("#password", PASSWORD)
    await page.click("#login-button")
    await page.locator("body[data-connected='true']").wait_for(state="attached")
    return page


async def test_staff_takes_over_replies_live_resolves_and_the_bot_answers_again(site: str, browser: Any) -> None:
    errors: list[str] = []
    staff = await staff_page(browser, site, errors)
    assert await staff.locator("#me").inner_text() == "Alice Ng (staff)"
    assert await staff.locator(".queue-item").count() == 0

    customer = await customer_page(browser, site)
    await customer_says(customer, "can I talk to a real person")
    await customer.wait_for_function("document.body.dataset.state === 'waiting'")

    # The escalation appears in the open console without a reload.
    item = staff.locator(".queue-item")
    await item.wait_for()
    assert "customer request" in await item.locator(".reason").inner_text()
    assert await item.locator(".channel").inner_text() == "web"
    await item.click()
    await staff.wait_for_function("document.body.dataset.convState === 'waiting'")
    await staff.click("#claim")
    await staff.wait_for_function("document.body.dataset.convState === 'with_human'")
    await customer.wait_for_function("document.body.dataset.state === 'with_human'")

    await staff.select_option("#canned", label="Greeting")
    assert "looking at your conversation" in await staff.input_value("#reply-input")
    await staff.fill("#reply-input", "Hi, I'm Alice. Let me sort this out.")
    await staff.click("#reply-send")
    staff_bubble = customer.locator(".msg-staff .msg-text")
    await staff_bubble.wait_for()
    assert await staff_bubble.inner_text() == "Hi, I'm Alice. Let me sort this out."
    assert await customer.locator(".msg-staff .msg-author").inner_text() == "Alice Ng (staff)"

    await customer_says(customer, "thanks, it is order NW-10482")
    await staff.locator("#messages .msg-customer", has_text="thanks, it is order NW-10482").wait_for()

    await staff.fill("#note-input", "VIP customer, refund approved")
    await staff.click("#note-add")
    await staff.locator("#notes li", has_text="VIP customer, refund approved").wait_for()

    await staff.click("#resolve")
    await staff.wait_for_function("document.body.dataset.convState === 'resolved'")
    await staff.locator(".queue-item").wait_for(state="detached")
    await customer.wait_for_function("document.body.dataset.state === 'resolved'")

    bot_answers = customer.locator(".msg-bot[data-id] .msg-text")
    before = await bot_answers.count()
    await customer_says(customer, "where is my order NW-10482")
    await bot_answers.nth(before).wait_for()
    assert "NW-10482" in await bot_answers.nth(before).inner_text()
    await customer.wait_for_function("document.body.dataset.state === 'bot'")
    assert "refund approved" not in await customer.locator("#messages").inner_text()
    assert errors == []


async def test_the_console_works_under_its_own_content_security_policy(site: str, browser: Any) -> None:
    errors: list[str] = []
    staff = await staff_page(browser, site, errors, enforce_csp=True)
    customer = await customer_page(browser, site)
    await customer_says(customer, "can I talk to a real person")
    await staff.locator(".queue-item").click()  # pushed over the socket: connect-src allows it
    await staff.locator("body[data-conv-state='waiting']").wait_for(state="attached")
    await staff.click("#claim")
    await staff.locator("body[data-conv-state='with_human']").wait_for(state="attached")
    await staff.fill("#reply-input", "Alice here.")
    await staff.click("#reply-send")
    await customer.locator(".msg-staff .msg-text", has_text="Alice here.").wait_for()
    assert errors == []


async def test_customer_html_stays_inert_text_in_the_console(site: str, browser: Any) -> None:
    errors: list[str] = []
    staff = await staff_page(browser, site, errors)
    customer = await customer_page(browser, site)
    await customer_says(customer, "I want to speak to a human")
    await customer.wait_for_function("document.body.dataset.state === 'waiting'")
    await customer_says(customer, XSS)
    await customer.locator(".msg-customer .msg-text", has_text="onerror").wait_for()

    preview = staff.locator(".queue-item .preview", has_text="onerror")
    await preview.wait_for()
    assert await preview.inner_text() == XSS
    await staff.click(".queue-item")
    shown = staff.locator("#messages .msg-customer .msg-text", has_text="onerror")
    await shown.wait_for()
    assert await shown.inner_text() == XSS
    assert await staff.evaluate("window.pwned === undefined && document.querySelectorAll('img').length === 0")
    assert errors == []


async def test_staff_html_stays_inert_text_in_the_customer_page(site: str, browser: Any) -> None:
    errors: list[str] = []
    staff = await staff_page(browser, site, errors)
    customer = await customer_page(browser, site)
    customer.on("pageerror", lambda exc: errors.append(str(exc)))
    await customer_says(customer, "I want to speak to a human")
    await staff.locator(".queue-item").click()
    await staff.wait_for_function("document.body.dataset.convState === 'waiting'")
    await staff.click("#claim")
    await staff.wait_for_function("document.body.dataset.convState === 'with_human'")
    await staff.fill("#reply-input", XSS)
    await staff.click("#reply-send")

    shown = customer.locator(".msg-staff .msg-text")
    await shown.wait_for()
    assert await shown.inner_text() == XSS
    assert await customer.evaluate("window.pwned === undefined && document.querySelectorAll('#messages img').length === 0")
    assert errors == []


async def test_a_sign_out_elsewhere_returns_the_console_to_the_sign_in_page(site: str, browser: Any) -> None:
    errors: list[str] = []
    staff = await staff_page(browser, site, errors)
    # The same sign-in, ended from another tab of that browser (same cookie jar).
    other_tab = await staff.context.new_page()
    await other_tab.goto(site + "/staff")
    await other_tab.wait_for_function("document.body.dataset.connected === 'true'")
    await other_tab.click("#logout")
    await staff.wait_for_function("document.body.dataset.view === 'login'")
    assert await staff.locator("#login-view").is_visible()
    assert await staff.evaluate("document.body.dataset.connected") == "false"
    assert errors == []


async def test_a_reply_sent_again_after_its_answer_was_lost_reaches_the_customer_once(site: str, browser: Any) -> None:
    errors: list[str] = []
    staff = await staff_page(browser, site, errors)
    customer = await customer_page(browser, site)
    await customer_says(customer, "can I talk to a real person")
    await staff.locator(".queue-item").click()
    await staff.wait_for_function("document.body.dataset.convState === 'waiting'")
    await staff.click("#claim")
    await staff.wait_for_function("document.body.dataset.convState === 'with_human'")

    # The first send reaches the server, but its answer never reaches the page.
    lost: list[str] = []

    async def lose_the_answer(route: Any) -> None:
        if not lost:
            lost.append(route.request.post_data or "")
            await route.fetch()
            await route.abort()
        else:
            await route.continue_()

    await staff.route("**/reply", lose_the_answer)
    await staff.fill("#reply-input", "Alice here, on it.")
    await staff.click("#reply-send")
    await staff.wait_for_function("document.querySelector('#action-error').textContent.trim() !== ''")
    assert await staff.input_value("#reply-input") == "Alice here, on it."  # kept for sending again
    await staff.click("#reply-send")
    await staff.wait_for_function("document.querySelector('#reply-input').value === ''")

    detail = await staff.evaluate(
        "fetch('/api/staff/conversations/' + encodeURIComponent(current.conversation_id)).then((r) => r.json())"
    )
    assert [m["text"] for m in detail["messages"] if m["role"] == "staff"] == ["Alice here, on it."]
    await customer.locator(".msg-staff .msg-text").wait_for()
    assert await customer.locator(".msg-staff").count() == 1
    assert len(lost) == 1


NEWEST_IN_VIEW = """(text) => {
  const pane = document.getElementById('messages');
  const last = pane.lastElementChild;
  if (!last || !last.textContent.includes(text)) return false;
  const p = pane.getBoundingClientRect(), r = last.getBoundingClientRect();
  return r.top >= p.top - 1 && r.bottom <= p.bottom + 1;
}"""


async def test_after_claiming_the_message_pane_follows_new_messages(site: str, browser: Any) -> None:
    errors: list[str] = []
    staff = await staff_page(browser, site, errors)
    async with aiohttp.ClientSession() as session:
        visitor = await new_visitor(session, site)
        for n in range(8):  # more than the pane holds
            await visitor.send(f"question {n}: what is your return policy")
        await visitor.send("can I talk to a real person")
        await staff.locator(".queue-item").click()
        await staff.locator("body[data-conv-state='waiting']").wait_for(state="attached")
        await staff.wait_for_function(NEWEST_IN_VIEW, arg="")
        await staff.click("#claim")
        await staff.locator("body[data-conv-state='with_human']").wait_for(state="attached")

        # The reply box now takes room from the pane; the newest message must stay in view.
        await staff.fill("#reply-input", "Alice here, looking at it now.")
        await staff.click("#reply-send")
        await staff.wait_for_function(NEWEST_IN_VIEW, arg="Alice here, looking at it now.", timeout=5_000)
        await visitor.send("thanks, it is order NW-10482")
        await staff.wait_for_function(NEWEST_IN_VIEW, arg="thanks, it is order NW-10482", timeout=5_000)

        # Scrolled up to read, the pane stays where the reader put it.
        await staff.evaluate("document.getElementById('messages').scrollTop = 0")
        # Scroll events are dispatched in the next frame, before its animation callbacks.
        await staff.evaluate("new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))")
        await visitor.send("are you still there?")
        await staff.locator("#messages .msg-customer", has_text="are you still there?").wait_for()
        assert await staff.evaluate("document.getElementById('messages').scrollTop") == 0
    assert errors == []


async def test_staff_close_a_waiting_conversation_without_claiming_it(site: str, browser: Any) -> None:
    errors: list[str] = []
    staff = await staff_page(browser, site, errors)
    customer = await customer_page(browser, site)
    await customer_says(customer, "can I talk to a real person")
    await staff.locator(".queue-item").click()
    await staff.wait_for_function("document.body.dataset.convState === 'waiting'")
    assert await staff.locator("#close").is_visible()
    await staff.click("#close")
    await staff.wait_for_function("document.body.dataset.convState === 'bot'")
    await staff.locator(".queue-item").wait_for(state="detached")
    assert not await staff.locator("#close").is_visible() and not await staff.locator("#claim").is_visible()
    await customer.wait_for_function("document.body.dataset.state === 'bot'")
    await customer.locator(".msg-system", has_text="closed your request").wait_for()
    assert errors == []


async def test_the_route_history_shows_the_document_an_answer_cited_before_the_escalation(
    make_settings: SettingsFactory, tmp_path: Path, browser: Any
) -> None:
    settings = make_settings(knowledge=knowledge_settings(help_centre(tmp_path / "help")))
    async with running_server(settings) as (base_url, _app):
        await add_staff(settings, "alice", "Alice Ng")
        errors: list[str] = []
        staff = await staff_page(browser, base_url, errors)
        customer = await customer_page(browser, base_url)
        await customer_says(customer, "my tent pole snapped, can I get it replaced?")
        await customer.locator(".msg-bot[data-id] .msg-sources").wait_for()
        await customer_says(customer, "can I talk to a real person")
        await staff.locator(".queue-item").click()
        await staff.wait_for_function("document.body.dataset.convState === 'waiting'")

        cited = staff.locator("#routes > li .route-source")
        assert await cited.all_inner_texts() == ["↳ Warranty and repairs › Broken tent poles (warranty.md)"]
        # On the answer's step, not the escalation's.
        step = staff.locator("#routes > li", has=staff.locator(".route-source"))
        assert (await step.inner_text()).startswith("answered · support")
        assert errors == []


async def test_the_route_history_shows_the_tools_a_turn_called(site: str, browser: Any) -> None:
    errors: list[str] = []
    staff = await staff_page(browser, site, errors)
    customer = await customer_page(browser, site)
    await customer_says(customer, "where is my order NW-10482?")
    await customer.locator(".msg-bot[data-id] .msg-text", has_text="email address").wait_for()
    await customer_says(customer, "ana@example.com")
    await customer.locator(".msg-bot[data-id] .msg-text", has_text="has shipped").wait_for()
    await customer_says(customer, "can I talk to a real person")
    await staff.locator(".queue-item").click()
    await staff.wait_for_function("document.body.dataset.convState === 'waiting'")

    calls = await staff.locator("#routes > li .route-tool").all_inner_texts()
    assert len(calls) == 3, calls
    assert calls[0].startswith("⚙ lookup_order(order_id=NW-10482) → needs_verification")
    # The proof is redacted: staff see that the customer was verified, not the email they gave.
    assert calls[1].startswith("⚙ verify_customer(order_id=NW-10482, email=[redacted]) → ok")
    assert calls[2].startswith("⚙ lookup_order(order_id=NW-10482) → ok")
    assert "ana@example.com" not in " ".join(calls)
    assert errors == []

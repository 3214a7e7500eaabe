"""`http` tools through `ToolBox.execute`, built as the server builds them, with a real httpx client
against a local stand-in for the business's order API: what goes on the wire, what the model
reads, and every failure as a result the model can act on, never an exception."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

import pytest

from agent.contracts import ToolOutcome
from agent.tools import ToolExecution
from tests.support.fake_shop import FakeShop, fake_shop
from tests.support.tool_box import call, context, toolbox

TOKEN = "shop-token-5f1c2b9e7d"
ORDER_ID = {"order_id": {"type": "string"}}


@pytest.fixture
async def shop() -> AsyncIterator[FakeShop]:
    async with fake_shop() as shop:
        yield shop


def http(url: str, method: str = "GET", parameters: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    return {"kind": "http", "method": method, "url": url, "parameters": ORDER_ID if parameters is None else parameters, **extra}


async def run(tools: dict[str, dict[str, Any]], name: str, arguments: dict[str, Any] | str, **ctx: Any) -> ToolExecution:
    async with toolbox(tools) as box:
        return await box.execute(call(name, arguments), context(*tools, **ctx), step=1)


def failed(execution: ToolExecution) -> dict[str, Any]:
    """The error the model reads; fails unless the content is exactly {"error", "retryable"}."""
    content = json.loads(execution.content)
    assert set(content) == {"error", "retryable"}, content
    assert isinstance(content["error"], str) and content["error"]
    assert content["error"] == execution.record.error
    return content


@pytest.mark.parametrize("value", ["../admin", "../../etc/passwd", "a b?c=1#d", "NW-1/cancel", "ünï", "%2e%2e"])
async def test_a_path_argument_stays_one_encoded_segment(shop: FakeShop, value: str) -> None:
    tools = {"get_order": http(shop.url("/api/things/{order_id}/detail"))}
    done = await run(tools, "get_order", {"order_id": value})
    assert done.record.outcome is ToolOutcome.OK, done.content
    [seen] = shop.requests
    assert seen.raw_path == f"/api/things/{quote(value, safe='')}/detail"
    assert seen.path == f"/api/things/{value}/detail"
    assert seen.query == {}  # a path argument is not sent again in the query


@pytest.mark.parametrize("value", ["..", "."])
async def test_a_dot_segment_argument_is_refused_before_any_request(shop: FakeShop, value: str) -> None:
    # Sent as it is, ".." would make /api/orders/../cancel out of /api/orders/{order_id}/cancel: /api/cancel.
    tools = {"cancel": http(shop.url("/api/orders/{order_id}/cancel"), "POST")}
    done = await run(tools, "cancel", {"order_id": value})
    assert done.record.outcome is ToolOutcome.INVALID_ARGUMENTS
    assert "order_id" in failed(done)["error"]
    assert shop.requests == []


async def test_get_arguments_go_in_the_query(shop: FakeShop) -> None:
    parameters = {
        "q": {"type": "string"},
        "limit": {"type": "integer"},
        "in_stock": {"type": "boolean"},
        "colors": {"type": "array", "items": {"type": "string"}},
    }
    tools = {"search": http(shop.url("/api/products"), parameters=parameters)}
    done = await run(tools, "search", {"q": "tent & pad", "limit": 3, "in_stock": True, "colors": ["red", "blue"]})
    assert done.record.outcome is ToolOutcome.OK, done.content
    [seen] = shop.requests
    assert (seen.method, seen.path, seen.json) == ("GET", "/api/products", None)
    assert seen.query == {"q": "tent & pad", "limit": "3", "in_stock": "true", "colors": '["red", "blue"]'}


async def test_post_arguments_go_in_a_json_body_without_the_path_ones(shop: FakeShop) -> None:
    parameters = {**ORDER_ID, "text": {"type": "string"}, "urgent": {"type": "boolean"}, "qty": {"type": "integer"}}
    tools = {"add_note": http(shop.url("/api/orders/{order_id}/notes"), "POST", parameters)}
    done = await run(tools, "add_note", {"order_id": "NW-30002", "text": "leave at the door", "urgent": False, "qty": 2})
    assert done.record.outcome is ToolOutcome.OK, done.content
    [seen] = shop.requests
    assert (seen.method, seen.path, seen.query) == ("POST", "/api/orders/NW-30002/notes", {})
    assert seen.json == {"text": "leave at the door", "urgent": False, "qty": 2}
    assert seen.headers["Content-Type"] == "application/json"
    assert json.loads(done.content)["json"] == seen.json


async def test_headers_take_secrets_at_build_and_the_customer_at_call(shop: FakeShop, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOP_TOKEN", TOKEN)
    headers = {"Authorization": "Bearer ${SHOP_TOKEN}", "X-Customer": "{customer}"}
    tools = {"lookup": http(shop.url("/api/orders/{order_id}"), headers=headers)}
    async with toolbox(tools) as box:
        monkeypatch.setenv("SHOP_TOKEN", "changed-after-start-up")  # read once, at build
        done = await box.execute(call("lookup", {"order_id": "NW-30002"}), context("lookup", customer="sam@example.com"), 1)
    assert done.record.outcome is ToolOutcome.OK, done.content
    [seen] = shop.requests
    assert seen.headers["Authorization"] == f"Bearer {TOKEN}"
    assert seen.headers["X-Customer"] == "sam@example.com"
    assert seen.headers["Accept"] == "application/json"
    assert json.loads(done.content)["number"] == "NW-30002"


async def test_the_customer_header_keeps_others_orders_out(shop: FakeShop) -> None:
    tools = {"lookup": http(shop.url("/api/orders/{order_id}"), headers={"X-Customer": "{customer}"})}
    done = await run(tools, "lookup", {"order_id": "NW-30003"}, customer="sam@example.com")
    assert (done.record.outcome, failed(done)) == (ToolOutcome.ERROR, {"error": "404: order not found", "retryable": False})


async def test_a_customer_beyond_ascii_is_sent_as_utf8(shop: FakeShop) -> None:
    tools = {"lookup": http(shop.url("/api/orders/{order_id}"), headers={"X-Customer": "{customer}"})}
    done = await run(tools, "lookup", {"order_id": "NW-30002"}, customer="josé@example.com")
    assert done.record.outcome is ToolOutcome.ERROR  # not sam's order: the shop says so, the call was made
    assert shop.requests[0].headers["X-Customer"] == "josé@example.com"


@pytest.mark.parametrize("value", ["NW-1\r\nX-Admin: yes", "NW-1\nX-Admin: yes", "NW-1\x00"])
async def test_an_argument_cannot_add_a_header(shop: FakeShop, value: str) -> None:
    tools = {"lookup": http(shop.url("/api/orders"), headers={"X-Order": "{order_id}"})}
    done = await run(tools, "lookup", {"order_id": value})
    assert done.record.outcome is ToolOutcome.INVALID_ARGUMENTS
    assert failed(done)["error"] == "order_id: a header cannot hold line breaks or control characters"
    assert shop.requests == []


async def test_secrets_never_reach_the_stored_record(shop: FakeShop, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOP_TOKEN", TOKEN)
    parameters = {
        "text": {"type": "string"},
        "filters": {"type": "object"},
        "tags": {"type": "array"},
        "code": {"type": "string", "pattern": "^[0-9]+$"},
    }
    tools = {"note": http(shop.url("/api/echo"), "POST", parameters, required=["text"], headers={"X-Key": "${SHOP_TOKEN}"})}
    async with toolbox(tools) as box:
        ctx = context("note")
        arguments = {"text": f"the key is {TOKEN}", "filters": {"key": TOKEN, "deeper": [TOKEN]}, "tags": [f"k:{TOKEN}"]}
        done = await box.execute(call("note", arguments), ctx, 1)
        refused = await box.execute(call("note", {"text": "x", "code": TOKEN}), ctx, 1)
    assert done.record.outcome is ToolOutcome.OK, done.content
    assert refused.record.outcome is ToolOutcome.INVALID_ARGUMENTS
    for record in (done.record, refused.record):
        assert TOKEN not in json.dumps(record.arguments) and TOKEN not in (record.error or "")
    assert done.record.arguments == {
        "text": "[redacted]",
        "filters": {"key": "[redacted]", "deeper": ["[redacted]"]},
        "tags": ["[redacted]"],
    }


async def test_redacted_arguments_are_not_quoted_in_the_stored_error(shop: FakeShop) -> None:
    parameters = {"email": {"type": "string", "maxLength": 20}}
    tools = {"check": http(shop.url("/api/customers/verify"), "POST", parameters, redact=["email"])}
    email = "a.very.long.address@example.com"
    done = await run(tools, "check", {"email": email})
    assert done.record.outcome is ToolOutcome.INVALID_ARGUMENTS
    assert done.record.error and done.record.error.startswith("email:")
    assert email not in done.record.error and done.record.arguments == {}
    assert shop.requests == []


async def test_returns_cuts_the_answer_to_its_fields(shop: FakeShop) -> None:
    tools = {"lookup": http(shop.url("/api/orders/{order_id}"), returns=["number", "status", "total", "missing"])}
    done = await run(tools, "lookup", {"order_id": "NW-30002"})
    assert json.loads(done.content) == {"number": "NW-30002", "status": "processing", "total": 78.0}
    assert done.record.response_bytes > len(done.content)  # what came, before the cut


async def test_returns_cuts_each_item_of_a_list(shop: FakeShop) -> None:
    tools = {"orders": http(shop.url("/api/orders", "many-3"), parameters={}, returns=["number"])}
    done = await run(tools, "orders", {})
    assert json.loads(done.content) == [{"number": "NW-30001"}, {"number": "NW-30002"}, {"number": "NW-30003"}]


async def test_a_long_list_is_cut_to_max_response_chars(shop: FakeShop) -> None:
    tools = {"orders": http(shop.url("/api/orders", "many-40"), parameters={}, max_response_chars=1000)}
    done = await run(tools, "orders", {})
    content = json.loads(done.content)
    assert len(done.content) <= 1000
    assert content["truncated"] is True and content["total_items"] == 40
    assert 0 < len(content["items"]) < 40 and content["items"][0]["number"] == "NW-30001"


async def test_a_long_object_is_cut_to_max_response_chars(shop: FakeShop) -> None:
    tools = {"echo": http(shop.url("/api/echo"), "POST", {"text": {"type": "string"}}, max_response_chars=300)}
    done = await run(tools, "echo", {"text": "x" * 5000})
    content = json.loads(done.content)
    assert done.record.outcome is ToolOutcome.OK
    assert len(done.content) <= 300 + 100  # the cut text, JSON-escaped
    assert content["truncated"] is True and content["partial"].startswith('{"method": "POST"')


FAILURES = [
    ("slow-5", ToolOutcome.TIMEOUT, True),
    ("status-400", ToolOutcome.ERROR, False),
    ("status-404", ToolOutcome.ERROR, False),
    ("status-409", ToolOutcome.ERROR, False),
    ("status-500", ToolOutcome.ERROR, True),
    ("status-503", ToolOutcome.ERROR, True),
    ("status-429", ToolOutcome.ERROR, True),
    ("html", ToolOutcome.BAD_RESPONSE, False),
    ("invalid-json", ToolOutcome.BAD_RESPONSE, False),
    ("huge", ToolOutcome.BAD_RESPONSE, False),
    ("drop", ToolOutcome.ERROR, True),
    ("redirect", ToolOutcome.ERROR, False),
]


@pytest.mark.parametrize(("fault", "outcome", "retryable"), FAILURES)
async def test_every_failure_is_a_result_the_model_reads(
    shop: FakeShop, fault: str, outcome: ToolOutcome, retryable: bool
) -> None:
    tools = {"lookup": http(shop.url("/api/orders/{order_id}", fault), timeout_s=0.5)}
    done = await run(tools, "lookup", {"order_id": "NW-30002"})
    assert (done.record.outcome, failed(done)["retryable"]) == (outcome, retryable), done.content
    assert done.record.arguments == {"order_id": "NW-30002"}
    assert [r.fault for r in shop.requests] == [fault]  # one request: the model decides whether to try again
    if fault.startswith("status-4"):
        status = fault.removeprefix("status-")
        assert failed(done)["error"] == f"{status}: " + ("slow down" if status == "429" else f"the shop says {status}")
    if fault == "slow-5":
        assert done.record.latency_ms < 2000


async def test_a_fault_from_a_configured_header_is_the_same_result(shop: FakeShop) -> None:
    tools = {"lookup": http(shop.url("/api/orders/{order_id}"), headers={"X-Fault": "status-503"})}
    done = await run(tools, "lookup", {"order_id": "NW-30002"})
    assert (done.record.outcome, failed(done)) == (ToolOutcome.ERROR, {"error": "503: the shop says 503", "retryable": True})


async def test_a_system_that_is_not_listening_is_a_retryable_error() -> None:
    async with fake_shop() as gone:
        url = gone.url("/api/orders/{order_id}")
    done = await run({"lookup": http(url)}, "lookup", {"order_id": "NW-30002"})
    assert (done.record.outcome, failed(done)["retryable"]) == (ToolOutcome.ERROR, True)

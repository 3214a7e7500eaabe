"""The guard rails every tool call passes, one by one, with the shipped tool declarations pointed
at a local stand-in for the order system: allow-list, arguments, verified customer, the
customer's own words and their yes for a change; Python tools; and what stops start-up."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from agent.app.server import create_app
from agent.app.tools import build_toolbox
from agent.contracts import PendingAction, ToolOutcome
from agent.settings import DEFAULT_CONFIG, ConfigError, load_settings
from agent.consent import is_yes
from agent.tools import ToolBox, ToolContext, ToolExecution
from tests.support.fake_shop import FakeShop, fake_shop
from tests.support.tool_box import call, context, shipped_tools, tool_settings, toolbox

SUPPORT = ("lookup_order", "cancel_order", "verify_customer", "escalate_to_human")


@pytest.fixture
async def shop() -> AsyncIterator[FakeShop]:
    async with fake_shop() as shop:
        yield shop


@pytest.fixture
async def box(shop: FakeShop) -> AsyncIterator[ToolBox]:
    extra = {
        # A change over several orders: the shape "cancel all orders" would take.
        "cancel_orders": {
            "kind": "http", "method": "POST", "url": shop.url("/api/orders/cancel-many"), "confirm": True,
            "description": "Cancel several orders", "parameters": {"order_ids": {"type": "array", "items": {"type": "string"}}},
        },
        "cancel_by_number": {
            "kind": "http", "method": "POST", "url": shop.url("/api/orders/cancel-by-number"), "confirm": True,
            "description": "Cancel an order by its number", "parameters": {"number": {"type": "integer"}},
        },
    }  # fmt: skip
    verification = {"tool": "check_identity", "max_attempts": 3}
    async with toolbox({**shipped_tools(shop.base_url), **extra}, verification=verification) as box:
        yield box


def sam(words: str = "", *more: str) -> ToolContext:
    """A verified customer whose recent messages are `words`."""
    return context(*SUPPORT, *more, customer="sam@example.com", words=words)


def content(done: ToolExecution) -> Any:
    return json.loads(done.content)


# --- the allow-list


async def test_a_tool_off_the_routes_allow_list_is_not_run(box: ToolBox, shop: FakeShop) -> None:
    ctx = context("lookup_order", customer="sam@example.com", words="cancel NW-30002")
    for name in ("cancel_order", "check_identity", "drop_all_tables", "x" * 300):
        done = await box.execute(call(name, {"order_id": "NW-30002"}), ctx, 1)
        assert done.record.outcome is ToolOutcome.NOT_ALLOWED, name
        assert content(done)["retryable"] is False
        assert done.record.arguments == {} and len(done.record.tool) <= 64  # the column's width
    assert shop.requests == [] and ctx.pending is None
    assert [t.name for t in box.definitions(ctx.allowed)] == ["lookup_order"]  # the models are told of no other


# --- the arguments


@pytest.mark.parametrize(
    ("arguments", "where"),
    [
        ({"order_id": "10497"}, "order_id"),  # the pattern
        ({"order_id": 30002}, "order_id"),  # the type
        ({}, "arguments"),  # required
        ({"order_id": "NW-30002", "admin": True}, "arguments"),  # nothing beyond the schema
    ],
)
async def test_arguments_that_break_the_schema_reach_nothing(
    box: ToolBox, shop: FakeShop, arguments: dict[str, Any], where: str
) -> None:
    done = await box.execute(call("lookup_order", arguments), sam(), 1)
    assert done.record.outcome is ToolOutcome.INVALID_ARGUMENTS
    assert content(done) == {"error": done.record.error, "retryable": True}
    assert done.record.error and done.record.error.startswith(where + ":")
    assert shop.requests == []


@pytest.mark.parametrize("raw", ['{"order_id": ', '["NW-30002"]', '"NW-30002"', "null", '{"order_id": "' + "9" * 9000 + '"}'])
async def test_arguments_that_are_not_a_json_object_reach_nothing(box: ToolBox, shop: FakeShop, raw: str) -> None:
    done = await box.execute(call("lookup_order", raw), sam(), 1)
    assert done.record.outcome is ToolOutcome.INVALID_ARGUMENTS, done.content
    assert shop.requests == []


# --- the verified customer


async def test_private_data_waits_for_verification(box: ToolBox, shop: FakeShop) -> None:
    ctx = context(*SUPPORT, words="where is NW-30002? it's sam@example.com")
    before = await box.execute(call("lookup_order", {"order_id": "NW-30002"}), ctx, 1)
    assert before.record.outcome is ToolOutcome.NEEDS_VERIFICATION
    assert "verify_customer" in content(before)["error"]
    assert shop.requests == []

    proof = await box.execute(call("verify_customer", {"order_id": "NW-30002", "email": "sam@example.com"}), ctx, 2)
    assert content(proof) == {"verified": True}
    assert (ctx.customer, ctx.verified) == ("sam@example.com", "sam@example.com")
    assert proof.record.arguments == {"order_id": "NW-30002", "email": "[redacted]"}

    after = await box.execute(call("lookup_order", {"order_id": "NW-30002"}), ctx, 3)
    assert after.record.outcome is ToolOutcome.OK
    assert content(after)["number"] == "NW-30002"
    assert [(r.method, r.path) for r in shop.requests] == [("POST", "/api/customers/verify"), ("GET", "/api/orders/NW-30002")]
    assert shop.requests[-1].headers["X-Customer"] == "sam@example.com"


async def test_the_last_failed_proof_hands_over_to_a_person(box: ToolBox, shop: FakeShop) -> None:
    ctx = context(*SUPPORT)
    for attempt, email in enumerate(["a@example.com", "b@example.com", "c@example.com"], start=1):
        assert ctx.escalation is None
        done = await box.execute(call("verify_customer", {"order_id": "NW-30002", "email": email}), ctx, attempt)
        assert content(done) == {"verified": False, "attempts_left": 3 - attempt}
    assert ctx.verify_failures == 3 and ctx.customer is None
    assert ctx.escalation == "identity could not be verified"
    again = await box.execute(call("verify_customer", {"order_id": "NW-30002", "email": "sam@example.com"}), ctx, 4)
    assert again.record.outcome is ToolOutcome.ERROR and ctx.customer is None
    assert len(shop.requests) == 3  # no fourth proof is checked


# --- a change: the customer's words, then their yes


async def test_a_change_is_asked_about_not_run(box: ToolBox, shop: FakeShop) -> None:
    ctx = sam("please cancel my order NW-30002")
    done = await box.execute(call("cancel_order", {"order_id": "NW-30002"}), ctx, 1)
    assert (done.record.outcome, done.record.confirmation) == (ToolOutcome.NEEDS_CONFIRMATION, "asked")
    assert [(r.method, r.path) for r in shop.requests] == [("GET", "/api/orders/NW-30002")]  # the preview only
    assert shop.cancels == [] and shop.cancelled == []
    assert ctx.pending is not None
    question = ctx.pending.question
    assert content(done)["question"] == question
    # The preview's fields fill the question: the items, the amount, the order.
    assert question.startswith(
        "Cancel order NW-30002 (2 × Beacon 400 Headlamp) and refund $78.00 to your original payment method?"
    )
    assert ctx.pending == PendingAction("cancel_order", {"order_id": "NW-30002"}, question, "support")

    confirmed = await box.run_confirmed(ctx.pending, sam())
    assert (confirmed.record.outcome, confirmed.record.confirmation) == (ToolOutcome.OK, "confirmed")
    assert [r.path for r in shop.cancels] == ["/api/orders/NW-30002/cancel"]
    assert shop.cancelled == ["NW-30002"]
    assert content(confirmed)["status"] == "cancelled"


async def test_a_question_without_confirm_text_names_the_arguments(box: ToolBox, shop: FakeShop) -> None:
    ctx = context("cancel_orders", words="cancel NW-30001 and NW-30002")
    done = await box.execute(call("cancel_orders", {"order_ids": ["NW-30001", "NW-30002"]}), ctx, 1)
    assert done.record.outcome is ToolOutcome.NEEDS_CONFIRMATION
    assert ctx.pending is not None
    assert ctx.pending.question.startswith("Cancel several orders (order_ids NW-30001, NW-30002)?")
    assert shop.requests == []


async def test_a_failed_preview_asks_nothing(box: ToolBox, shop: FakeShop) -> None:
    ctx = sam("cancel NW-30003")  # someone else's order: the preview finds none for sam
    done = await box.execute(call("cancel_order", {"order_id": "NW-30003"}), ctx, 1)
    assert (done.record.outcome, content(done)["error"]) == (ToolOutcome.ERROR, "404: order not found")
    assert ctx.pending is None and shop.cancels == []


@pytest.mark.parametrize(
    ("tool", "arguments", "words"),
    [
        # A model that read "cancel all orders" in a tool result asks for an order the customer never named...
        ("cancel_order", {"order_id": "NW-30002"}, "where is my order NW-30001?"),
        # ...or for all of them at once...
        ("cancel_orders", {"order_ids": ["NW-30001", "NW-30002", "NW-30003"]}, "where is my order NW-30001?"),
        # ...or for part of a number the customer did give...
        ("cancel_orders", {"order_ids": ["NW-3000"]}, "where is my order NW-30001?"),
        # ...or for one given as a number.
        ("cancel_by_number", {"number": 30002}, "where is my order NW-30001?"),
    ],
)
async def test_a_change_the_customer_never_asked_for_is_refused(
    box: ToolBox, shop: FakeShop, tool: str, arguments: dict[str, Any], words: str
) -> None:
    ctx = sam(words, "cancel_orders", "cancel_by_number")
    done = await box.execute(call(tool, arguments), ctx, 1)
    assert done.record.outcome is ToolOutcome.NOT_ALLOWED
    assert "the customer has not asked for this" in content(done)["error"]
    assert ctx.pending is None
    assert shop.requests == []  # not even the preview


@pytest.mark.parametrize("words", ["cancel nw30002 please", "Cancel NW 30002", "I need NW-30002 cancelled."])
async def test_the_customers_own_words_may_write_the_order_their_way(box: ToolBox, words: str) -> None:
    ctx = sam(words)
    done = await box.execute(call("cancel_order", {"order_id": "NW-30002"}), ctx, 1)
    assert done.record.outcome is ToolOutcome.NEEDS_CONFIRMATION, done.content


async def test_two_changes_at_once_ask_one_question(box: ToolBox, shop: FakeShop) -> None:
    ctx = sam("cancel NW-30001 and NW-30002")
    calls = [
        call("cancel_order", {"order_id": "NW-30001"}),
        call("lookup_order", {"order_id": "NW-30002"}),
        call("cancel_order", {"order_id": "NW-30002"}),
    ]
    done = await box.execute_all(calls, ctx, 1)
    assert [d.call_id for d in done] == [c.id for c in calls]  # results in the order asked
    assert [d.record.outcome for d in done] == [ToolOutcome.NEEDS_CONFIRMATION, ToolOutcome.OK, ToolOutcome.NOT_ALLOWED]
    assert "already waiting" in content(done[2])["error"]
    assert ctx.pending is not None and ctx.pending.arguments == {"order_id": "NW-30001"}
    assert "NW-30001" in ctx.pending.question and content(done[0])["question"] == ctx.pending.question
    assert shop.cancels == []


async def test_a_confirmed_change_the_route_no_longer_allows_is_not_run(box: ToolBox, shop: FakeShop) -> None:
    action = PendingAction("cancel_order", {"order_id": "NW-30002"}, "Cancel order NW-30002?", "lookup")
    done = await box.run_confirmed(action, context("lookup_order", customer="sam@example.com", route="lookup"))
    assert done.record.outcome is ToolOutcome.NOT_ALLOWED
    assert shop.requests == []


async def test_a_confirmed_change_still_needs_a_verified_customer(box: ToolBox, shop: FakeShop) -> None:
    action = PendingAction("cancel_order", {"order_id": "NW-30002"}, "Cancel order NW-30002?", "support")
    done = await box.run_confirmed(action, context(*SUPPORT))
    assert done.record.outcome is ToolOutcome.NEEDS_VERIFICATION
    assert shop.requests == []


YES = ["yes", "Yes", "YES!", "yes please", "Yes, please.", "yes go ahead", "y", "yep", "ok", "sure", "confirm", "👍", " 👍 ", "✅",
       "yes 👍", "yes, cancel it", "go ahead"]  # fmt: skip
NOT_YES = [
    "yes but change the address first", "no", "No.", "nope", "wait", "wait, yes", "what would that cost?",
    "yesterday", "yes?? no", "yes, but not that one", "hmm", "", "   ", "👎", "is it shipped yet?",
    "yes " + "x" * 60, "don't", "ok but only the tent", "yes instead cancel the other one",
]  # fmt: skip


@pytest.mark.parametrize("message", YES)
def test_an_explicit_yes_is_a_yes(message: str) -> None:
    assert is_yes(message)


@pytest.mark.parametrize("message", NOT_YES)
def test_anything_else_is_not_a_yes(message: str) -> None:
    assert not is_yes(message)


# --- python tools


def python_tool(function: str, **extra: Any) -> dict[str, Any]:
    return {
        "kind": "python", "entry_point": f"tests.support.tool_functions:{function}", "description": "Loyalty points",
        "parameters": {"member": {"type": "string"}}, **extra,
    }  # fmt: skip


async def test_a_python_tool_answers_with_its_fields() -> None:
    async with toolbox({"points": python_tool("loyalty_points", returns=["points", "tier", "customer"])}) as box:
        done = await box.execute(call("points", {"member": "M-1"}), context("points", customer="sam@example.com"), 1)
    assert done.record.outcome is ToolOutcome.OK
    assert content(done) == {"points": 1250, "tier": "gold", "customer": "sam@example.com"}


async def test_a_python_tool_that_raises_is_an_error_result() -> None:
    async with toolbox({"points": python_tool("broken")}) as box:
        done = await box.execute(call("points", {"member": "M-1"}), context("points"), 1)
    assert done.record.outcome is ToolOutcome.ERROR
    assert content(done) == {"error": "the tool failed (RuntimeError)", "retryable": False}


async def test_a_python_tool_that_hangs_times_out() -> None:
    async with toolbox({"points": python_tool("hangs", timeout_s=0.2)}) as box:
        done = await box.execute(call("points", {"member": "M-1"}), context("points"), 1)
    assert (done.record.outcome, content(done)["retryable"]) == (ToolOutcome.TIMEOUT, True)


@pytest.mark.parametrize(
    ("entry_point", "said"),
    [
        ("tests.support.tool_functions:no_such_function", "has no function 'no_such_function'"),
        ("tests.support.no_such_module:points", "cannot import 'tests.support.no_such_module'"),
        ("tests.support.tool_functions:not_async", "is not an async function"),
    ],
)
async def test_an_entry_point_that_cannot_be_run_stops_start_up(entry_point: str, said: str) -> None:
    with pytest.raises(ConfigError) as raised:
        async with toolbox({"points": {**python_tool("broken"), "entry_point": entry_point}}):
            pass
    assert str(raised.value).startswith("tools.points.entry_point: ") and said in str(raised.value)


# --- start-up


def config_file(tmp_path: Path, change: dict[str, Any]) -> Path:
    """The shipped YAML with `change` on top of it, one level deep."""
    data = yaml.safe_load(DEFAULT_CONFIG.read_text())
    for key, value in change.items():
        data[key] = {**data.get(key, {}), **value} if isinstance(value, dict) else value
    path = tmp_path / "switchboard.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_an_unknown_tool_on_a_route_stops_start_up(tmp_path: Path) -> None:
    support = {"chain": ["local"], "tools": ["lookup_order", "cancel_order", "refund_everything"]}
    with pytest.raises(ConfigError) as raised:
        load_settings(config_file(tmp_path, {"routes": {"support": support}}))
    assert "routes.support.tools.2: unknown tool 'refund_everything'" in str(raised.value)


def test_an_unknown_preview_or_verification_tool_stops_start_up(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings(config_file(tmp_path, {"verification": {"tool": "who_is_it"}}))
    assert "verification.tool: unknown tool 'who_is_it'" in str(raised.value)


async def test_a_bad_json_schema_stops_start_up(shop: FakeShop) -> None:
    tools = {"lookup": {"kind": "http", "url": shop.url("/api/orders/{order_id}"), "parameters": {"order_id": {"type": "strin"}}}}
    with pytest.raises(ConfigError) as raised:
        async with toolbox(tools):
            pass
    assert str(raised.value).startswith("tools.lookup.parameters: not a valid JSON Schema")


async def test_a_missing_environment_variable_stops_start_up_naming_the_key(
    shop: FakeShop, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("SHOP_API_TOKEN", raising=False)
    monkeypatch.delenv("DEMO_STORE_URL", raising=False)
    headers = {"X-Customer": "{customer}", "Authorization": "Bearer ${SHOP_API_TOKEN}"}
    parameters = {"order_id": {"type": "string"}}
    tools = {"lookup": {"kind": "http", "url": shop.url("/api/orders/{order_id}"), "headers": headers, "parameters": parameters}}
    expected = "tools.lookup.headers.Authorization: the environment variable SHOP_API_TOKEN is not set"
    with pytest.raises(ConfigError, match=expected):
        async with httpx.AsyncClient() as client:
            build_toolbox(tool_settings(tools), client, None)
    # The server's own construction says the same, before it listens.
    lookup = {**shipped_tools(shop.base_url)["lookup_order"], "headers": headers}
    settings = load_settings(config_file(tmp_path, {"tools": {"lookup_order": lookup}}), data_dir=str(tmp_path / "data"))
    with pytest.raises(ConfigError, match=expected.replace("tools.lookup.", "tools.lookup_order.")):
        create_app(settings)
    # And the demo store's own variable, with the store not served here, is missing too.
    plain = load_settings(config_file(tmp_path, {"demo_store": {"serve": False}}), data_dir=str(tmp_path / "data"))
    with pytest.raises(ConfigError, match=r"tools\.lookup_order\.url: the environment variable DEMO_STORE_URL is not set"):
        create_app(plain)

"""A turn checked against its expectations, and the pass rates of repeated runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.contracts import Source, ToolCallRecord, ToolOutcome
from agent.evaluation.conversations import ConversationResult, RunResult, SuiteResult, TurnResult
from agent.evaluation.matching import Observed, check
from agent.evaluation.suite import Conversation, Expectation, SuiteError, ToolExpectation, Turn, load_suite

REFUND = Source("3:1", "Refunds and when you get your money back", "", "refund-timing.md", None, 7.1)


def observed(**changes: object) -> Observed:
    values: dict[str, object] = {
        "text": "Order NW-10482 has shipped with UPS.",
        "route": "lookup",
        "intent": "order_status",
        "outcome": "answered",
        "model": "local",
        "tool_calls": (
            ToolCallRecord("verify_customer", {"order_id": "NW-10482", "email": "[redacted]"}, ToolOutcome.OK, 3.0),
            ToolCallRecord("lookup_order", {"order_id": "NW-10482", "filters": {"items": True}}, ToolOutcome.OK, 2.0),
        ),
        "escalated": False,
        "state": "bot",
        "sources": (REFUND,),
    }
    values.update(changes)
    return Observed(**values)  # type: ignore[arg-type]


def test_a_turn_that_does_what_it_should_has_no_mismatch() -> None:
    expect = Expectation(
        route="lookup",
        intent="order_status",
        tools=(
            ToolExpectation("verify_customer", "ok", {"email": "[redacted]"}),
            ToolExpectation("lookup_order", arguments={"order_id": r"/^NW-\d{5}$/", "filters": {"items": True}}),
        ),
        contains=("SHIPPED", "ups"),
        not_contains=("cancelled",),
        escalated=False,
        state="bot",
        sources=("refund-timing.md", "when you get your money", "3:1"),
    )
    assert check(expect, observed()) == []


def test_each_mismatch_names_the_expectation_and_the_actual_value() -> None:
    expect = Expectation(
        route="support",
        tools=(ToolExpectation("verify_customer", "error"), ToolExpectation("lookup_order", arguments={"order_id": "/^NW-999/", "x": 1})),
        contains=("tracking",),
        not_contains=("ups",),
        state="waiting",
        sources=("Warranty",),
    )
    found = [m.describe() for m in check(expect, observed())]
    assert found == [
        "route: expected 'support', got 'lookup'",
        "state: expected 'waiting', got 'bot'",
        "tools[0].outcome: expected 'error', got 'ok'",
        "tools[1].arguments.order_id: expected '/^NW-999/', got 'NW-10482'",
        "tools[1].arguments.x: expected 1, got '(no such argument)'",
        "contains: 'tracking' is not in the answer",
        "not_contains: 'ups' is in the answer",
        "sources: expected 'Warranty', got [Refunds and when you get your money back]",
    ]


def test_the_calls_must_be_the_ones_listed_in_order() -> None:
    swapped = Expectation(tools=(ToolExpectation("lookup_order"), ToolExpectation("verify_customer")))
    assert [m.describe() for m in check(swapped, observed())] == [
        "tools: expected [lookup_order, verify_customer], got [verify_customer (ok), lookup_order (ok)]"
    ]
    assert [m.describe() for m in check(Expectation(no_tools=True), observed())] == [
        "no_tools: expected [], got [verify_customer (ok), lookup_order (ok)]"
    ]
    assert check(Expectation(no_tools=True, sources=()), observed(tool_calls=(), sources=())) == []
    assert [m.describe() for m in check(Expectation(sources=()), observed())] == [
        "sources: expected [], got [Refunds and when you get your money back]"
    ]


def run(passed: bool) -> RunResult:
    turn = Turn("hi", Expectation(route="lookup"))
    result = TurnResult(1, turn, observed(), () if passed else tuple(check(Expectation(route="sales"), observed())))
    return RunResult((result,), 0.1)


def test_pass_hat_k_counts_the_conversations_that_passed_every_run() -> None:
    def conversation(name: str, xfail: str | None = None) -> Conversation:
        return Conversation(name, (Turn("hi"),), xfail=xfail)

    result = SuiteResult(
        Path("suite.yaml"),
        3,
        (
            ConversationResult(conversation("steady"), (run(True), run(True), run(True))),
            ConversationResult(conversation("flaky"), (run(True), run(False), run(True))),
            ConversationResult(conversation("known", xfail="not yet"), (run(False),) * 3),
            ConversationResult(conversation("fixed", xfail="not yet"), (run(True),) * 3),
        ),
        1.0,
    )
    assert [r.status for r in result.results] == ["pass", "fail", "xfail", "xpass"]
    assert result.pass_at_1 == pytest.approx((1 + 2 / 3) / 2)
    assert result.pass_hat_k == 0.5
    assert result.failed
    assert result.to_json()["totals"]["pass_hat_3"] == 0.5


def test_the_file_reads_into_dataclasses(tmp_path: Path) -> None:
    path = tmp_path / "suite.yaml"
    path.write_text(
        "conversations:\n"
        "  - name: sms order\n"
        "    channel: sms\n"
        "    settings: {tools: {lookup_order: {url: 'http://127.0.0.1:9/x/{order_id}'}}}\n"
        "    turns:\n"
        "      - customer: where is NW-10482\n"
        "        expect: {tools: [lookup_order, {name: verify_customer, outcome: ok}], contains: shipped, sources: Refund policy}\n"
        "      - customer: thanks\n"
    )
    (conversation,) = load_suite(path).conversations
    assert conversation.channel == "sms"
    assert conversation.settings == {"tools": {"lookup_order": {"url": "http://127.0.0.1:9/x/{order_id}"}}}
    first, second = conversation.turns
    assert first.expect.tools == (ToolExpectation("lookup_order"), ToolExpectation("verify_customer", "ok"))
    assert first.expect.contains == ("shipped",) and first.expect.sources == ("Refund policy",)
    assert second.expect.empty


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("conversations: []\n", "conversations: List should have at least 1 item"),
        ("- just a list\n", "expected a mapping with a `conversations:` list"),
        (
            "conversations:\n  - {name: a, channel: fax, turns: [{customer: hi}]}\n",
            "conversation 'a' (#1), channel: Input should be 'web', 'slack', 'sms', 'voice' or 'cli'",
        ),
        (
            "conversations:\n  - {name: a, turns: [{customer: hi}]}\n  - {name: a, turns: [{customer: hi}]}\n",
            "two conversations are named 'a'",
        ),
        (
            "conversations:\n  - {name: a, turns: [{customer: hi}, {customer: x, expect: {no_tools: true, tools: [lookup_order]}}]}\n",
            "conversation 'a' (#1), turn 2, expect: no_tools: true and a tools list contradict each other",
        ),
        (
            "conversations:\n  - {name: a, turns: [{customer: hi, expect: {tools: [{name: x, confirmation: maybe}]}}]}\n",
            "conversation 'a' (#1), turn 1, expect.tools[0].confirmation: Input should be 'asked', 'confirmed' or 'declined'",
        ),
    ],
)
def test_a_mistake_in_the_file_says_where(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "suite.yaml"
    path.write_text(text)
    with pytest.raises(SuiteError) as raised:
        load_suite(path)
    assert message in str(raised.value)

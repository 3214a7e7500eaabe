"""A hosted model looks up orders through the demo store, on each provider's wire format, streamed
(web chat) and not (SMS): the call, its result back in the provider's format, the answer from it,
and the stored record of the call. Parallel calls run together and go back in one turn; an
unverified customer is asked for proof first."""

from __future__ import annotations

import json
import re
from pathlib import Path

from agent.contracts import ToolOutcome
from tests.support.fake_tool_models import Answer, Asked, ToolModels, Use, call, calls, say
from tests.tools.conftest import (
    ORDER_TOOLS,
    SiteFactory,
    ana_owns_two_orders,
    answered_call,
    offered,
    result_text,
    results_turn,
)

ORDER = re.compile(r"NW-\d{5}")
EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.\w+")


def orders_mentioned(asked: Asked) -> list[str]:
    return ORDER.findall(" ".join(m.text for m in asked.messages if m.role == "user"))


def desk(asked: Asked) -> Answer:
    """A model at the order desk: verifies with the proof the customer gives, looks orders up,
    answers from what the tools returned, and asks for proof when told to."""
    done = asked.results()
    email = EMAIL.search(asked.last_user)
    if not done:
        if email:
            return call("verify_customer", order_id=orders_mentioned(asked)[-1], email=email.group())
        return call("lookup_order", "Let me check that for you.", order_id=orders_mentioned(asked)[-1])
    use, result = done[-1]
    if use.name == "verify_customer":
        if not result.data.get("verified"):
            return say("That email does not match the order, sorry.")
        if not asked.results("lookup_order") and "where" in " ".join(m.text for m in asked.messages if m.role == "user").lower():
            return call("lookup_order", order_id=use.arguments["order_id"])
        return say("Thanks, that matches the order.")
    data = result.data
    if data.get("error") and "not verified" in data["error"]:
        return say("I need to confirm it's you first: what is the email address on the order?")
    return say(f"Order {data['number']} is {data['status']}, tracking number {data['tracking_number']}.")


async def test_a_verified_customers_order_is_looked_up_and_the_call_is_stored(
    site: SiteFactory, models: ToolModels, provider: str, delivery: str
) -> None:
    models.script("desk", desk)
    async with site({"desk": provider}) as s:
        customer = await s.customer()
        assert await customer.say("Hi, my email is ana@example.com and my order is NW-10482.") == "Thanks, that matches the order."
        before = len(models.requests)
        reply = await customer.say("Where is NW-10482 now?")
        turns = await s.turns(customer)

    assert "shipped" in reply and "1Z999AA10123456784" in reply
    asked, answered = models.requests[before:]
    assert asked.stream is answered.stream is (delivery == "streamed")
    # The tools as this provider declares them, the route's allow-list exactly.
    tools = offered(asked)
    assert sorted(tools) == sorted(ORDER_TOOLS)
    assert tools["lookup_order"]["properties"]["order_id"]["pattern"] == "^NW-\\d{5}$"
    # The call goes back as the model made it, and its result answers it in the provider's format.
    [made] = answered.asked.this_turn[0].tool_calls
    assert (made.name, made.arguments) == ("lookup_order", {"order_id": "NW-10482"})
    assert made.id == asked.call_ids[0]
    [result] = results_turn(answered)
    assert answered_call(provider, result) == (made.id if provider != "gemini" else "lookup_order")
    if provider == "openai":
        assert result["role"] == "tool"
    elif provider == "anthropic":
        assert result["type"] == "tool_result"
    shown = json.loads(result_text(provider, result))
    assert shown["status"] == "shipped" and shown["tracking_number"] == "1Z999AA10123456784"
    assert "email" not in shown  # only the fields `returns` names

    verified, looked_up = turns
    [verify] = verified.tool_calls
    assert (verify.tool, verify.outcome, dict(verify.arguments)) == (
        "verify_customer", ToolOutcome.OK, {"order_id": "NW-10482", "email": "[redacted]"}
    )
    [lookup] = looked_up.tool_calls
    assert (lookup.tool, dict(lookup.arguments), lookup.outcome, lookup.step) == ("lookup_order", {"order_id": "NW-10482"}, ToolOutcome.OK, 1)
    assert lookup.latency_ms > 0 and lookup.response_bytes > 100 and lookup.error is None
    assert looked_up.outcome == "answered" and looked_up.model == "desk"


async def test_parallel_calls_run_together_and_their_results_go_back_in_one_turn(
    site: SiteFactory, models: ToolModels, provider: str, delivery: str, tmp_path: Path
) -> None:
    def both(asked: Asked) -> Answer:
        done = asked.results("lookup_order")
        if not done:
            numbers = orders_mentioned(asked)
            return calls(*(Use("lookup_order", {"order_id": n}) for n in numbers[-2:]))
        return say(" ".join(f"{r.data['number']} is {r.data['status']}." for _, r in done))

    models.script("desk", desk)
    models.script("both", lambda asked: desk(asked) if EMAIL.search(asked.last_user) else both(asked))
    store = {"serve": True, "orders": str(ana_owns_two_orders(tmp_path))}
    async with site({"both": provider}, settings={"demo_store": store}) as s:
        customer = await s.customer()
        await customer.say("I'm ana@example.com, about order NW-10482.")
        before = len(models.requests)
        reply = await customer.say("And how are NW-10482 and NW-10497 doing?")
        turns = await s.turns(customer)

    assert reply == "NW-10482 is shipped. NW-10497 is processing."
    asked, answered = models.requests[before:]
    assert [u.arguments for u in asked.answer.calls] == [{"order_id": "NW-10482"}, {"order_id": "NW-10497"}]
    assert answered.stream is (delivery == "streamed")
    # One assistant turn with both calls, then both results in one turn, each answering its call.
    [assistant, results] = answered.asked.this_turn
    assert [c.id for c in assistant.tool_calls] == list(asked.call_ids)
    assert results.role == "tool" and len(results.tool_results) == 2
    sent = results_turn(answered)
    assert len(sent) == 2
    assert [json.loads(result_text(provider, r))["number"] for r in sent] == ["NW-10482", "NW-10497"]
    if provider != "gemini":
        assert [answered_call(provider, r) for r in sent] == list(asked.call_ids)
    else:
        assert [answered_call(provider, r) for r in sent] == ["lookup_order", "lookup_order"]
    [_, turn] = turns
    assert [(c.tool, c.arguments["order_id"], c.outcome, c.step) for c in turn.tool_calls] == [
        ("lookup_order", "NW-10482", ToolOutcome.OK, 1),
        ("lookup_order", "NW-10497", ToolOutcome.OK, 1),
    ]


async def test_an_unverified_customer_is_asked_for_proof_then_verified_then_answered(
    site: SiteFactory, models: ToolModels, provider: str, delivery: str
) -> None:
    models.script("desk", desk)
    async with site({"desk": provider}) as s:
        customer = await s.customer()
        first = len(models.requests)
        asked_for_proof = await customer.say("Where is my order NW-10482?")
        second = len(models.requests)
        reply = await customer.say("It's ana@example.com")
        turns = await s.turns(customer)

    assert asked_for_proof == "I need to confirm it's you first: what is the email address on the order?"
    # The model read why the lookup did not run, in its own provider's format.
    told = models.requests[second - 1]
    [result] = results_turn(told)
    error = json.loads(result_text(provider, result))
    assert "not verified" in error["error"] and error["retryable"] is False
    assert len(models.requests[first:second]) == 2

    assert "shipped" in reply and "1Z999AA10123456784" in reply
    rounds = models.requests[second:]
    assert [r.answer.calls[0].name if r.answer and r.answer.calls else None for r in rounds] == ["verify_customer", "lookup_order", None]
    assert all(r.stream is (delivery == "streamed") for r in rounds)
    asking, proof = turns
    [refused] = asking.tool_calls
    assert (refused.tool, refused.outcome, refused.response_bytes) == ("lookup_order", ToolOutcome.NEEDS_VERIFICATION, 0)
    assert [(c.tool, c.outcome, c.step) for c in proof.tool_calls] == [
        ("verify_customer", ToolOutcome.OK, 1),
        ("lookup_order", ToolOutcome.OK, 2),
    ]
    assert proof.tool_calls[0].arguments["email"] == "[redacted]"

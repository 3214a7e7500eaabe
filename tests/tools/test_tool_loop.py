"""The tool loop's limits on each provider's wire format, streamed and not: a fallback keeps the
results already obtained, the step budget ends the calls, the allow-list stops what a route does
not allow, and the response cache never keeps an answer that used a tool."""

from __future__ import annotations

import json

import pytest
import structlog

from agent.contracts import ToolOutcome
from agent.tools.loop import LAST_STEP
from personas import load_persona
from tests.support.fake_tool_models import PROVIDERS, Answer, Asked, ToolModels, Use, call, calls, fail, say
from tests.tools.conftest import ORDER_TOOLS, SiteFactory, answered_call, offered, result_text, results_turn
from tests.tools.test_order_tools import desk

CROSS = [(a, b) for a in PROVIDERS for b in PROVIDERS if a != b]


def breaks_after_a_call(asked: Asked) -> Answer:
    """Calls a tool as the desk does, then fails with a 500 once there are results to read."""
    return fail(500) if asked.results() else desk(asked)


async def falls_back_with_the_results(site: SiteFactory, models: ToolModels, first: str, second: str, delivery: str) -> None:
    models.script("a", breaks_after_a_call)
    models.script("b", desk)
    async with site({"a": first, "b": second}) as s:
        customer = await s.customer()
        assert await customer.say("Hi, my email is ana@example.com and my order is NW-10482.") == "Thanks, that matches the order."
        before = len(models.requests)
        reply = await customer.say("Where is NW-10482 now?")
        turns = await s.turns(customer)
        attempts = await s.store.model_calls(customer.conversation_id)

    assert "shipped" in reply and "1Z999AA10123456784" in reply
    called, broke, backup = models.requests[before:]
    assert (called.model, broke.model, backup.model) == ("a", "a", "b")
    assert broke.answer == fail(500) and all(r.stream is (delivery == "streamed") for r in (called, broke, backup))
    # b reads a's call and its result, in b's own wire format, and may still call the route's tools.
    [made] = backup.asked.this_turn[0].tool_calls
    assert (made.name, made.arguments) == ("lookup_order", {"order_id": "NW-10482"})
    [result] = results_turn(backup)
    assert json.loads(result_text(second, result))["status"] == "shipped"
    if second != "gemini":  # Gemini's wire carries no call ids: a result names its function
        assert answered_call(second, result) == made.id
        if first != "gemini":
            assert made.id == called.call_ids[0]
    assert sorted(offered(backup)) == sorted(ORDER_TOOLS)
    # The lookup ran once; the turn records both models' attempts.
    [lookup] = turns[-1].tool_calls
    assert (lookup.tool, lookup.outcome) == ("lookup_order", ToolOutcome.OK)
    assert turns[-1].model == "b" and turns[-1].outcome == "answered"
    assert [(c.model, c.outcome) for c in attempts[-3:]] == [("a", "ok"), ("a", "server_error"), ("b", "ok")]


async def test_a_fallback_in_the_second_round_keeps_the_results_already_obtained(
    site: SiteFactory, models: ToolModels, provider: str, delivery: str
) -> None:
    await falls_back_with_the_results(site, models, provider, provider, delivery)


# Across providers, each pair once streamed and once not (the two tests between them).
@pytest.mark.parametrize("delivery", ["streamed"])
@pytest.mark.parametrize(("first", "second"), CROSS, ids=[f"{a}-to-{b}" for a, b in CROSS])
async def test_a_fallback_to_another_provider_carries_the_results_in_its_format(
    site: SiteFactory, models: ToolModels, first: str, second: str, delivery: str
) -> None:
    await falls_back_with_the_results(site, models, first, second, delivery)


@pytest.mark.parametrize("delivery", ["whole"])
@pytest.mark.parametrize(("first", "second"), CROSS, ids=[f"{a}-to-{b}" for a, b in CROSS])
async def test_parallel_calls_survive_a_fallback_to_another_provider(
    site: SiteFactory, models: ToolModels, first: str, second: str, delivery: str
) -> None:
    def searches_twice(asked: Asked) -> Answer:
        if asked.results():
            return fail(500)
        return calls(Use("search_knowledge", {"query": "return policy"}), Use("search_knowledge", {"query": "exchange policy"}))

    def sums_up(asked: Asked) -> Answer:
        return say(f"I found {len(asked.results('search_knowledge'))} answers: returns are free within 60 days.")

    models.script("a", searches_twice)
    models.script("b", sums_up)
    async with site({"a": first, "b": second}) as s:
        customer = await s.customer()
        reply = await customer.say("How do returns and exchanges work?")
        turns = await s.turns(customer)

    assert reply == "I found 2 answers: returns are free within 60 days."
    backup = models.to("b")[-1]
    ids = [c.id for c in backup.asked.this_turn[0].tool_calls]
    assert len(ids) == 2 and (second == "gemini" or len(set(ids)) == 2)  # two calls, told apart
    assert len(results_turn(backup)) == 2
    assert [(c.tool, c.outcome) for c in turns[0].tool_calls] == [("search_knowledge", ToolOutcome.OK)] * 2


def keeps_searching(asked: Asked) -> Answer:
    """Searches again for as long as it may; with no tool left to call, says it could not find out."""
    if asked.tool_names:
        return call("search_knowledge", query=f"warranty claim form {len(asked.results())}")
    return say("I could not find that out. Would you like me to pass you to a colleague?")


async def test_the_step_budget_stops_the_calls_and_the_last_round_allows_none(
    site: SiteFactory, models: ToolModels, provider: str, delivery: str
) -> None:
    models.script("searcher", keeps_searching)
    async with site({"searcher": provider}, max_tool_steps=2) as s:
        customer = await s.customer()
        reply = await customer.say("Where do I find the warranty claim form?")
        [turn] = await s.turns(customer)

    assert reply == "I could not find that out. Would you like me to pass you to a colleague?"
    rounds = models.to("searcher")
    assert [r.asked.tool_names != [] for r in rounds] == [True, True, False]
    assert all(r.stream is (delivery == "streamed") for r in rounds)
    last = rounds[-1]
    assert any(LAST_STEP in m.text for m in last.asked.messages if m.role == "system")
    assert len(last.asked.results()) == 2  # what the two rounds found is still there to answer from
    # Still described (a conversation holding tool calls needs their definitions), none callable.
    assert sorted(offered(last)) == sorted(ORDER_TOOLS)
    none = {"openai": ("tool_choice", "none"), "anthropic": ("tool_choice", {"type": "none"}),
            "gemini": ("toolConfig", {"functionCallingConfig": {"mode": "NONE"}})}[provider]  # fmt: skip
    assert last.body[none[0]] == none[1]
    assert [(c.tool, c.outcome, c.step) for c in turn.tool_calls] == [
        ("search_knowledge", ToolOutcome.OK, 1),
        ("search_knowledge", ToolOutcome.OK, 2),
    ]
    assert turn.outcome == "answered"


async def test_a_model_that_asks_for_tools_past_the_budget_ends_in_an_honest_handover(
    site: SiteFactory, models: ToolModels, provider: str, delivery: str
) -> None:
    models.script("stubborn", lambda asked: call("search_knowledge", query="warranty claim form"))
    async with site({"stubborn": provider}, max_tool_steps=1) as s:
        customer = await s.customer()
        reply = await customer.say("Where do I find the warranty claim form?")
        [turn] = await s.turns(customer)
        history = await s.store.get_conversation(customer.conversation_id)

    persona = load_persona(s.settings.persona)
    assert reply in (persona.apology, persona.fallback, persona.escalation)
    assert len(models.to("stubborn")) == 2
    assert [(c.tool, c.outcome) for c in turn.tool_calls] == [
        ("search_knowledge", ToolOutcome.OK),
        ("search_knowledge", ToolOutcome.STEP_LIMIT),
    ]
    assert turn.outcome in ("failed", "escalated")
    assert history is not None and history.state.value in ("bot", "waiting")


async def test_a_tool_the_route_does_not_allow_is_refused_and_nothing_runs(
    site: SiteFactory, models: ToolModels, provider: str, delivery: str
) -> None:
    def overreaches(asked: Asked) -> Answer:
        if not asked.results():
            return calls(
                Use("lookup_order", {"order_id": "NW-10482"}),
                Use("check_identity", {"order_id": "NW-10482", "email": "ana@example.com"}),
                Use("delete_everything", {}),
            )
        return say("I can't look orders up here, sorry.")

    models.script("sales", overreaches)
    logging = {"log": {"level": "info", "format": "json"}}
    async with site({"sales": provider}, tools=["search_knowledge", "escalate_to_human"], settings=logging) as s:
        customer = await s.customer()
        with structlog.testing.capture_logs() as events:
            reply = await customer.say("Where is my order NW-10482?")
        [turn] = await s.turns(customer)

    assert reply == "I can't look orders up here, sorry."
    asked, answered = models.to("sales")
    assert sorted(offered(asked)) == ["escalate_to_human", "search_knowledge"]
    sent = [json.loads(result_text(provider, r)) for r in results_turn(answered)]
    assert [r["error"] for r in sent] == ["no tool 'lookup_order' here", "no tool 'check_identity' here", "no tool 'delete_everything' here"]
    assert [(c.tool, c.outcome, dict(c.arguments), c.response_bytes) for c in turn.tool_calls] == [
        ("lookup_order", ToolOutcome.NOT_ALLOWED, {}, 0),
        ("check_identity", ToolOutcome.NOT_ALLOWED, {}, 0),
        ("delete_everything", ToolOutcome.NOT_ALLOWED, {}, 0),
    ]
    assert [e for e in events if e["event"] == "demo_store_request"] == []
    assert [e["outcome"] for e in events if e["event"] == "tool_call"] == ["not_allowed"] * 3


async def test_the_cache_never_keeps_an_answer_that_used_a_tool(
    site: SiteFactory, models: ToolModels, provider: str, delivery: str
) -> None:
    def librarian(asked: Asked) -> Answer:
        if "return" not in asked.last_user.lower():
            return say("Hello! How can I help today?")
        if not asked.results():
            return call("search_knowledge", query="return policy")
        return say("Returns are free within 60 days of delivery.")

    models.script("librarian", librarian)
    cache = {"enabled": True, "ttl_s": 300}
    async with site({"librarian": provider}, tools=["search_knowledge"], personal=False, cache=cache) as s:
        first, second, third, fourth = [await s.customer() for _ in range(4)]
        assert await first.say("How do returns work?") == "Returns are free within 60 days of delivery."
        asked_first = len(models.requests)
        assert await second.say("How do returns work?") == "Returns are free within 60 days of delivery."
        asked_second = len(models.requests)
        # The same greeting twice, answered without tools: the second is the cache's.
        assert await third.say("Good morning") == "Hello! How can I help today?"
        asked_third = len(models.requests)
        assert await fourth.say("Good morning") == "Hello! How can I help today?"
        second_turn = (await s.turns(second))[0]

    assert asked_first == 2 and asked_second == 4  # the second customer's turn called the model again, both rounds
    # ...though it asked exactly what the first did: a cache keyed on the request could have answered it.
    assert models.requests[0].body == models.requests[2].body
    assert asked_third == 5 and len(models.requests) == 5  # the cache works: the greeting was not asked again
    assert second_turn.model == "librarian" and [c.tool for c in second_turn.tool_calls] == ["search_knowledge"]

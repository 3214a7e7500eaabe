"""Route strategies over real HTTP: cascade, parallel (first good or judged), the cache."""

from __future__ import annotations

import time

import pytest

from agent.models import AnswerChecks, CachedRoute, Cascade, ChatMessage, ChatRequest, ManagedModel, ModelChain, Outcome, Parallel
from agent.models.breaker import BreakerState, CircuitBreaker
from agent.models.cache import CacheSettings, ResponseCache
from agent.models.checks import take_confidence
from agent.models.managed import Deployment, RetryPolicy
from agent.models.metrics import GatewayMetrics
from tests.models.conftest import MakeModel
from tests.support.fake_providers import FakeProviders

REQUEST = ChatRequest([ChatMessage("system", "You are Sam."), ChatMessage("user", "is the tent waterproof")], route="sales")


@pytest.mark.parametrize(
    ("cheap", "check"),
    [
        ("reply-I_don't_know_the_answer_to_that.", "dont_know"),
        ("reply-I'm_unable_to_help_with_that_request.", "refusal"),
        ("cutoff", "cut_off"),
        ("reply-Yes,_fully.\nConfidence:_0.4", "low_confidence"),
    ],
)
async def test_a_cascade_escalates_when_a_check_fails(make_model: MakeModel, fake: FakeProviders, cheap: str, check: str) -> None:
    metrics = GatewayMetrics()
    cascade = Cascade([make_model(cheap, name="cheap"), make_model("reply-Yes,_it_is_rated_3000mm.", name="strong")], AnswerChecks(min_confidence=0.7 if check == "low_confidence" else None), metrics)
    outcome = await cascade.run(REQUEST)
    assert outcome.result is not None and outcome.result.text == "Yes, it is rated 3000mm."
    assert [(a.model, a.outcome, a.error_class) for a in outcome.attempts] == [("cheap", Outcome.REJECTED, check), ("strong", Outcome.OK, None)]
    assert outcome.attempts[0].result is not None and outcome.attempts[0].result.output_tokens > 0  # paid for, and recorded
    assert metrics.models["cheap"].rejections[check] == 1
    if check == "low_confidence":
        assert "Confidence:" in str(fake.requests[0]["body"]["messages"])  # the cheap model was asked to rate itself


async def test_a_confident_cheap_answer_is_kept_without_its_rating(make_model: MakeModel, fake: FakeProviders) -> None:
    cascade = Cascade([make_model("reply-Yes,_3000mm.\nConfidence:_0.9", name="cheap"), make_model("ok", name="strong")], AnswerChecks(min_confidence=0.7))
    outcome = await cascade.run(REQUEST)
    assert outcome.result is not None and outcome.result.text == "Yes, 3000mm." and len(outcome.attempts) == 1
    assert fake.calls["ok"] == 0


def test_confidence_is_read_in_its_forms() -> None:
    from agent.models import ChatResult

    for text, value in [("A.\nConfidence: 0.35", 0.35), ("A.\nconfidence=80%", 0.8), ("A.\n(Confidence: 1)", 1.0), ("A. no rating", None)]:
        result, confidence = take_confidence(ChatResult(text, "m"))
        assert confidence == value and result.text.startswith("A.")


async def test_the_last_model_of_a_cascade_is_final_and_a_failure_keeps_the_turned_down_answer(make_model: MakeModel) -> None:
    outcome = await Cascade([make_model("reply-I_don't_know.", name="cheap"), make_model("error-500", name="strong")]).run(REQUEST)
    assert outcome.result is not None and outcome.result.text == "I don't know."
    assert [a.outcome for a in outcome.attempts] == [Outcome.REJECTED, Outcome.SERVER_ERROR]


async def test_parallel_takes_the_first_good_answer_and_cancels_the_rest(make_model: MakeModel) -> None:
    parallel = Parallel([make_model("slow-2", name="slow"), make_model("error-500", name="broken"), make_model("slow-0.1+reply-fast", name="fast")])
    started = time.perf_counter()
    outcome = await parallel.run(REQUEST)
    assert time.perf_counter() - started < 1.5
    assert outcome.result is not None and outcome.result.text == "fast"
    by_model = {a.model: a.outcome for a in outcome.attempts}
    assert by_model == {"slow": Outcome.CANCELLED, "broken": Outcome.SERVER_ERROR, "fast": Outcome.OK}


async def test_a_judge_picks_among_parallel_answers(make_model: MakeModel, fake: FakeProviders) -> None:
    judge = make_model("reply-2", name="judge")
    parallel = Parallel([make_model("reply-It_might_be.", name="a"), make_model("reply-Yes,_rated_3000mm.", name="b")], judge=judge)
    outcome = await parallel.run(REQUEST)
    assert outcome.result is not None and outcome.result.text == "Yes, rated 3000mm."
    assert [a.model for a in outcome.attempts] == ["a", "b", "judge"]
    prompt = fake.requests[-1]["body"]["messages"][-1]["content"]
    assert "Reply 1:\nIt might be." in prompt and "Reply 2:\nYes, rated 3000mm." in prompt


async def test_a_judge_that_talks_nonsense_leaves_the_first_answer(make_model: MakeModel) -> None:
    parallel = Parallel([make_model("reply-one", name="a"), make_model("reply-two", name="b")], judge=make_model("reply-both_are_nice", name="judge"))
    outcome = await parallel.run(REQUEST)
    assert outcome.result is not None and outcome.result.text == "one"


async def test_the_route_deadline_bounds_every_attempt_and_keeps_time_for_the_last_link(make_model: MakeModel) -> None:
    chain = ModelChain([ManagedModel.single(make_model("slow-5", total_s=30)), ManagedModel.single(make_model("ok"))])
    started = time.perf_counter()
    outcome = await chain.run(REQUEST, deadline_s=1.0)
    assert time.perf_counter() - started < 1.0
    assert [a.outcome for a in outcome.attempts] == [Outcome.TIMEOUT, Outcome.OK]
    assert 850 < outcome.attempts[0].latency_ms < 990  # 10% of the deadline kept back for the backup

    late = ModelChain([ManagedModel.single(make_model("slow-5", total_s=30)), ManagedModel.single(make_model("slow-5", name="late", total_s=30))])
    started = time.perf_counter()
    outcome = await late.run(REQUEST, deadline_s=0.5)
    assert time.perf_counter() - started < 0.7
    assert [a.outcome for a in outcome.attempts] == [Outcome.TIMEOUT, Outcome.TIMEOUT]


async def test_the_cache_answers_a_repeat_for_free_until_it_expires(make_model: MakeModel, fake: FakeProviders) -> None:
    cache = ResponseCache(CacheSettings(ttl_s=0.3, max_entries=2))
    route = CachedRoute(ModelChain([make_model("ok")]), cache)
    first = await route.run(REQUEST)
    second = await route.run(REQUEST)
    assert first.result is not None and second.result is not None and second.result.text == first.result.text
    assert second.attempts[0].provider == "cache" and second.result.cost_usd == 0 and second.result.input_tokens == 0
    assert fake.calls["ok"] == 1 and cache.snapshot()["hits"] == 1
    other = ChatRequest([*REQUEST.messages[:-1], ChatMessage("user", "and the boots?")], route="sales")
    await route.run(other)
    assert fake.calls["ok"] == 2  # not the same prompt: not the same answer
    time.sleep(0.35)
    await route.run(REQUEST)
    assert fake.calls["ok"] == 3 and cache.snapshot()["entries"] <= 2


async def test_streaming_falls_back_and_tells_the_listener_to_start_again(make_model: MakeModel) -> None:
    chain = ModelChain([make_model("drop", name="breaks"), make_model("reply-the_whole_answer", name="backup")])
    pieces: list[str] = []

    async def on_delta(text: str) -> None:
        pieces.append(text)

    async def on_reset() -> None:
        pieces.clear()

    outcome = await chain.run_stream(REQUEST, on_delta, on_reset)
    assert "".join(pieces) == "the whole answer" == (outcome.result.text if outcome.result else None)
    assert [a.outcome for a in outcome.attempts] == [Outcome.CONNECTION_ERROR, Outcome.OK]


@pytest.mark.parametrize(("configured", "answer"), [({}, "I don't know."), ({"checks": {"dont_know": True}}, "It is rated 3000mm.")])
async def test_a_parallel_route_applies_the_checks_it_is_configured_with(
    make_model: MakeModel, configured: dict, answer: str
) -> None:
    from agent.app.gateway import build_route
    from agent.settings import RoutePolicy

    models = {
        "dunno": ManagedModel.single(make_model("reply-I_don't_know.", name="dunno")),
        "good": ManagedModel.single(make_model("slow-0.3+reply-It_is_rated_3000mm.", name="good")),
    }
    policy = RoutePolicy.model_validate({"chain": ["dunno", "good"], "strategy": "parallel", **configured})
    strategy, _cache = build_route(policy, models, GatewayMetrics())
    outcome = await strategy.run(REQUEST)
    assert outcome.result is not None and outcome.result.text == answer


async def test_a_parallel_route_with_min_confidence_asks_every_model_and_keeps_the_confident_answer(make_model: MakeModel, fake: FakeProviders) -> None:
    checks = AnswerChecks(refusal=False, dont_know=False, cut_off=False, min_confidence=0.7)
    unsure, sure = make_model("reply-Maybe.\nConfidence:_0.3", name="unsure"), make_model("slow-0.2+reply-Yes,_rated_3000mm.\nConfidence:_0.9", name="sure")
    outcome = await Parallel([unsure, sure], checks=checks).run(REQUEST)
    assert outcome.result is not None and outcome.result.text == "Yes, rated 3000mm."  # the first answer was not confident enough
    assert all("Confidence:" in str(r["body"]["messages"]) for r in fake.requests)

    candidates = [make_model(f"reply-{text}.\nConfidence:_{rating}", name=text) for text, rating in [("A", 0.9), ("B", 0.2), ("C", 0.8)]]
    outcome = await Parallel(candidates, judge=make_model("reply-2", name="judge"), checks=checks).run(REQUEST)
    assert outcome.result is not None and outcome.result.text == "C."
    prompt = fake.requests[-1]["body"]["messages"][-1]["content"]
    assert "Reply 1:\nA." in prompt and "Reply 2:\nC." in prompt and "B." not in prompt and "Confidence" not in prompt


@pytest.mark.parametrize(("empty", "outcome", "error_class"), [(True, Outcome.REJECTED, "empty"), (False, Outcome.BAD_RESPONSE, "bad_response")])
async def test_the_empty_check_of_a_cascade_is_configurable(make_model: MakeModel, empty: bool, outcome: Outcome, error_class: str) -> None:
    metrics = GatewayMetrics()
    breaker = CircuitBreaker(failures=1)
    cheap = ManagedModel("cheap", [Deployment(make_model("empty", name="cheap"), "cheap", breaker=breaker)], RetryPolicy(retries=0), metrics=metrics)
    cascade = Cascade([cheap, make_model("reply-It_is_rated_3000mm.", name="strong")], AnswerChecks(empty=empty), metrics)
    result = await cascade.run(REQUEST)
    assert result.result is not None and result.result.text == "It is rated 3000mm."
    assert [(a.model, a.outcome, a.error_class) for a in result.attempts] == [("cheap", outcome, error_class), ("strong", Outcome.OK, None)]
    assert metrics.models["cheap"].rejections == ({"empty": 1} if empty else {})
    # A check turning an answer down is not the model failing; an empty answer the model gave as its own is.
    assert breaker.state is (BreakerState.CLOSED if empty else BreakerState.OPEN)

    nothing = await Cascade([make_model("empty", name="cheap"), make_model("error-500", name="strong")], AnswerChecks(empty=empty)).run(REQUEST)
    assert nothing.result is None  # an empty answer is never sent, not even as the last resort


async def test_an_answer_that_is_only_its_rating_is_never_sent(make_model: MakeModel) -> None:
    checks = AnswerChecks(empty=False, min_confidence=0.5)
    only_rating = "reply-Confidence:_0.9"
    cascade = Cascade([make_model(only_rating, name="cheap"), make_model("error-500", name="strong")], checks)
    assert (await cascade.run(REQUEST)).result is None
    parallel = Parallel([make_model(only_rating, name="a"), make_model("error-500", name="b")], checks=checks)
    assert (await parallel.run(REQUEST)).result is None
    judged = Parallel(
        [make_model(only_rating, name="a"), make_model("error-500", name="b")], judge=make_model("reply-1", name="judge"), checks=checks
    )
    assert (await judged.run(REQUEST)).result is None


async def test_a_full_cache_drops_the_least_recently_used_answer(make_model: MakeModel, fake: FakeProviders) -> None:
    cache = ResponseCache(CacheSettings(ttl_s=60, max_entries=2))
    route = CachedRoute(ModelChain([make_model("ok")]), cache)
    a, b, c = (ChatRequest([REQUEST.messages[0], ChatMessage("user", text)], route="sales") for text in ("tents?", "boots?", "socks?"))
    for request in (a, b, a, c):  # a is used again after b: b is the least recent when c comes
        await route.run(request)
    assert fake.calls["ok"] == 3 and len(cache) == 2
    assert (await route.run(a)).attempts[0].provider == "cache"
    assert (await route.run(b)).attempts[0].provider != "cache"  # dropped
    assert fake.calls["ok"] == 4 and len(cache) == 2

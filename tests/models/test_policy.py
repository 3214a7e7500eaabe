"""Per-model policy: retries, the circuit breaker, rate limits, deployments, prices."""

from __future__ import annotations

import asyncio
import random
import time

import pytest

from agent.models import Attempt, ChatMessage, ChatRequest, ManagedModel, Outcome
from agent.models.breaker import BreakerState, CircuitBreaker
from agent.models.cost import PriceKey, PriceOverride, Pricer
from agent.models.limits import RateLimiter, Throttled
from agent.models.managed import Deployment, RetryPolicy
from agent.models.metrics import GatewayMetrics
from tests.models.conftest import MakeModel
from tests.support.fake_providers import FakeProviders

REQUEST = ChatRequest([ChatMessage("user", "hello there")])


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_breaker_opens_after_n_failures_in_its_window_and_probes_once() -> None:
    clock = Clock()
    breaker = CircuitBreaker(failures=3, window_s=10, cooldown_s=5, clock=clock)

    def fail() -> None:
        ticket = breaker.admit()
        assert ticket is not None
        breaker.record_failure(ticket)

    for _ in range(2):
        fail()
    clock.now += 11  # those two fall out of the window
    fail()
    fail()
    assert breaker.state is BreakerState.CLOSED and breaker.admit()
    fail()
    assert breaker.state is BreakerState.OPEN and not breaker.admit()
    clock.now += 5
    assert breaker.state is BreakerState.HALF_OPEN
    probe = breaker.admit()
    assert probe and not breaker.admit()  # one probe at a time
    breaker.record_failure(probe)
    assert breaker.state is BreakerState.OPEN and breaker.times_opened == 2
    clock.now += 5
    probe = breaker.admit()
    assert probe
    breaker.record_success(probe)
    assert breaker.state is BreakerState.CLOSED and breaker.admit()


async def test_the_rate_limit_queue_is_short_and_bounded() -> None:
    limiter = RateLimiter(rpm=60, max_queue=1, max_wait_s=1.5)  # one a second, a burst of 60
    for _ in range(60):
        await limiter.acquire(1)
    started = time.perf_counter()
    waiter = asyncio.create_task(limiter.acquire(1))
    await asyncio.sleep(0.05)
    with pytest.raises(Throttled, match="already waiting"):
        await limiter.acquire(1)
    await waiter
    assert 0.8 < time.perf_counter() - started < 1.5
    strict = RateLimiter(rpm=60, max_wait_s=0.1)
    for _ in range(60):
        await strict.acquire(1)
    with pytest.raises(Throttled, match="frees up"):
        await strict.acquire(1)


@pytest.mark.parametrize("limits", [{"rpm": 3}, {"tpm": 30}])
async def test_with_no_queue_a_call_that_needs_no_wait_goes_through(limits: dict[str, int]) -> None:
    limiter = RateLimiter(**limits, max_queue=0, max_wait_s=5)
    for _ in range(3):
        await limiter.acquire(10)
    with pytest.raises(Throttled, match="no call may wait"):
        await limiter.acquire(10)  # would have to wait, and nobody may


async def test_tokens_per_minute_are_settled_with_the_real_usage() -> None:
    limiter = RateLimiter(tpm=600, max_wait_s=0)
    await limiter.acquire(100)
    limiter.settle(100, 550)  # the call used far more than estimated
    with pytest.raises(Throttled):
        await limiter.acquire(100)


async def test_a_flaky_model_is_retried_and_answers(make_model: MakeModel, fake: FakeProviders) -> None:
    model = ManagedModel("m", [Deployment(make_model("flaky-2"), "a")], RetryPolicy(retries=2, base_s=0.01, max_s=0.02))
    attempts: list[Attempt] = []
    result = await model.call(REQUEST, attempts)
    assert result is not None and result.text == "echo: hello there"
    assert [(a.outcome, a.retry) for a in attempts] == [(Outcome.SERVER_ERROR, 0), (Outcome.SERVER_ERROR, 1), (Outcome.OK, 2)]
    assert fake.calls["flaky-2"] == 3


async def test_retry_after_is_honoured_and_a_long_one_skipped(make_model: MakeModel) -> None:
    model = ManagedModel("m", [Deployment(make_model("error-429+retry-after-0.3"), "a")], RetryPolicy(retries=1))
    attempts: list[Attempt] = []
    started = time.perf_counter()
    assert await model.call(REQUEST, attempts) is None
    assert time.perf_counter() - started >= 0.3
    assert [a.outcome for a in attempts] == [Outcome.RATE_LIMITED, Outcome.RATE_LIMITED]

    patient = ManagedModel("m", [Deployment(make_model("error-429+retry-after-30"), "a")], RetryPolicy(retries=3, max_retry_after_s=5))
    attempts = []
    started = time.perf_counter()
    assert await patient.call(REQUEST, attempts) is None
    assert time.perf_counter() - started < 1 and len(attempts) == 1  # the chain moves on instead


def test_backoff_grows_with_jitter_and_a_cap() -> None:
    policy = RetryPolicy(retries=5, base_s=0.1, max_s=0.5)
    rng = random.Random(1)
    delays = [[policy.delay(n, None, rng) for _ in range(200)] for n in (1, 2, 3, 6)]
    assert [max(d) for d in delays] == pytest.approx([0.1, 0.2, 0.4, 0.5], abs=0.01)  # type: ignore[type-var]
    assert all(min(d) >= 0 for d in delays)  # type: ignore[type-var]
    assert len({round(x, 6) for x in delays[0]}) > 100  # jitter: callers do not retry in step


async def test_an_open_breaker_fails_fast_and_a_probe_closes_it(make_model: MakeModel, fake: FakeProviders) -> None:
    clock = Clock()
    breaker = CircuitBreaker(failures=2, window_s=30, cooldown_s=10, clock=clock)
    model = ManagedModel("m", [Deployment(make_model("flaky-2"), "a", breaker=breaker)], RetryPolicy(retries=0))
    for _ in range(2):
        assert await model.call(REQUEST, []) is None
    attempts: list[Attempt] = []
    assert await model.call(REQUEST, attempts) is None
    assert attempts[0].outcome is Outcome.CIRCUIT_OPEN and fake.calls["flaky-2"] == 2  # no request went out
    clock.now += 10
    assert await model.call(REQUEST, attempts) is not None  # the probe succeeds
    assert breaker.state is BreakerState.CLOSED and model.health()[0]["breaker"] == "closed"


async def test_deployments_share_by_weight_and_a_down_one_is_avoided(make_model: MakeModel, fake: FakeProviders) -> None:
    first, second = make_model("reply-first", name="m"), make_model("reply-second", name="m")
    model = ManagedModel("m", [Deployment(first, "first", weight=3), Deployment(second, "second", weight=1)], rng=random.Random(7))
    answers = [r.text for r in [await model.call(REQUEST, []) for _ in range(200)] if r]
    assert 0.65 < answers.count("first") / 200 < 0.85

    down = make_model("error-500", name="m")
    model = ManagedModel(
        "m", [Deployment(down, "down", breaker=CircuitBreaker(failures=2)), Deployment(second, "up")], RetryPolicy(retries=1, base_s=0.001)
    )
    attempts: list[Attempt] = []
    for _ in range(20):
        assert await model.call(REQUEST, attempts) is not None  # a failed try is retried on the other
    assert sum(a.deployment == "down" for a in attempts) == 2  # then its breaker keeps it out


async def test_every_call_is_priced_from_the_table_or_the_config(make_model: MakeModel) -> None:
    pricer, metrics = Pricer(), GatewayMetrics()
    table = ManagedModel(
        "gpt", [Deployment(make_model("ok+cached-1000"), "a", price_key=PriceKey("gpt-4o-mini", "openai"))], pricer=pricer, metrics=metrics
    )
    result = await table.call(REQUEST, [])
    assert result is not None
    # gpt-4o-mini: $0.15 per million input, $0.075 cached, $0.60 output
    expected = (2 * 0.15 + 1000 * 0.075 + 3 * 0.60) / 1e6
    assert result.cost_usd == pytest.approx(expected)
    own = ManagedModel("own", [Deployment(make_model("ok"), "a")], pricer=pricer, price_override=PriceOverride(1.0, 2.0), metrics=metrics)
    result = await own.call(REQUEST, [])
    assert result is not None and result.cost_usd == pytest.approx((2 * 1.0 + 3 * 2.0) / 1e6)
    unknown = ManagedModel("odd", [Deployment(make_model("ok"), "a", price_key=PriceKey("no-such-model-anywhere", "openai"))], pricer=pricer, metrics=metrics)
    assert (await unknown.call(REQUEST, [])) is not None
    snapshot = {name: stats.snapshot() for name, stats in metrics.models.items()}
    assert snapshot["gpt"]["cost_usd"] == pytest.approx(expected) and snapshot["gpt"]["tokens"]["cached"] == 1000
    assert snapshot["odd"]["unpriced_calls"] == 1 and snapshot["own"]["unpriced_calls"] == 0


@pytest.mark.parametrize(
    "base_url",
    ["http://localhost:8000/v1", "http://127.0.0.1:8000/v1", "http://[::1]:8000/v1", "http://10.0.0.5:8000/v1", "http://192.168.1.4:11434/v1",
     "http://172.20.0.3/v1", "http://vllm:8000/v1", "http://gpu-box.internal/v1", "http://ollama.local:11434/v1"],
)  # fmt: skip
def test_a_self_hosted_model_is_not_priced_as_the_cloud_one_of_that_name(base_url: str) -> None:
    pricer = Pricer()
    assert pricer.known(PriceKey("deepseek-r1", "openai", "https://api.deepseek.com/v1"))  # the same name, served by DeepSeek
    assert not pricer.known(PriceKey("deepseek-r1", "openai", base_url))
    assert not pricer.known(PriceKey("gpt-4o-mini", "openai", base_url))
    # Naming the table entry (price_as) is a choice, not a guess: it is priced.
    assert pricer.known(PriceKey("gpt-4o-mini", "openai", base_url, named=True))


async def test_a_self_hosted_call_counts_as_unpriced_unless_the_config_prices_it(make_model: MakeModel, fake: FakeProviders) -> None:
    pricer, metrics = Pricer(), GatewayMetrics()
    key = PriceKey("deepseek-r1", "openai", fake.openai_url)  # the fake server listens on 127.0.0.1
    guessed = ManagedModel("r1", [Deployment(make_model("deepseek-r1"), "a", price_key=key)], pricer=pricer, metrics=metrics)
    result = await guessed.call(REQUEST, [])
    assert result is not None and result.cost_usd == 0
    priced = ManagedModel("r1-priced", [Deployment(make_model("deepseek-r1"), "a", price_key=key)], pricer=pricer, price_override=PriceOverride(1.0, 2.0), metrics=metrics)
    result = await priced.call(REQUEST, [])
    assert result is not None and result.cost_usd == pytest.approx((2 * 1.0 + 3 * 2.0) / 1e6)
    assert (metrics.models["r1"].unpriced_calls, metrics.models["r1"].cost_usd) == (1, 0)
    assert (metrics.models["r1-priced"].unpriced_calls, metrics.models["r1-priced"].cost_usd) == (0, pytest.approx(8 / 1e6))


def said(text: str) -> ChatRequest:
    return ChatRequest([ChatMessage("user", text)])


async def test_a_slow_answer_from_before_the_breaker_opened_does_not_close_it(make_model: MakeModel) -> None:
    clock = Clock()
    breaker = CircuitBreaker(failures=2, window_s=30, cooldown_s=10, clock=clock)
    model = ManagedModel("m", [Deployment(make_model("ok"), "a", breaker=breaker)], RetryPolicy(retries=0))
    slow = asyncio.create_task(model.call(said("fake:slow-0.4 hello"), []))
    await asyncio.sleep(0.1)
    for _ in range(2):
        assert await model.call(said("fake:error-500 hello"), []) is None
    assert breaker.state is BreakerState.OPEN
    assert await slow is not None  # it answered, but was let through before the breaker opened
    assert breaker.state is BreakerState.OPEN
    clock.now += 10
    assert breaker.state is BreakerState.HALF_OPEN  # only a probe closes it


async def test_a_late_failure_does_not_restart_an_open_breakers_cooldown(make_model: MakeModel) -> None:
    clock = Clock()
    breaker = CircuitBreaker(failures=2, window_s=30, cooldown_s=10, clock=clock)
    model = ManagedModel("m", [Deployment(make_model("ok"), "a", breaker=breaker)], RetryPolicy(retries=0))
    slow = [asyncio.create_task(model.call(said("fake:slow-0.4+error-500 hello"), [])) for _ in range(2)]
    await asyncio.sleep(0.1)
    for _ in range(2):
        assert await model.call(said("fake:error-500 hello"), []) is None
    clock.now += 8
    assert await asyncio.gather(*slow) == [None, None]  # enough failures to open it, had they come while it was closed
    clock.now += 2
    assert breaker.state is BreakerState.HALF_OPEN and breaker.times_opened == 1  # ten seconds from opening, not from the late failure
    assert await model.call(said("hello"), []) is not None
    assert breaker.state is BreakerState.CLOSED


def test_the_breaker_judges_a_call_by_when_it_was_let_through() -> None:
    clock = Clock()
    breaker = CircuitBreaker(failures=2, window_s=30, cooldown_s=10, clock=clock)
    early = [breaker.admit() for _ in range(4)]
    assert all(t is not None for t in early)
    breaker.record_failure(early[0])
    breaker.record_failure(early[1])
    assert breaker.state is BreakerState.OPEN and breaker.admit() is None
    clock.now += 10
    probe = breaker.admit()
    assert probe is not None and breaker.admit() is None  # one probe at a time
    breaker.record_success(early[2])  # neither a late success...
    breaker.record_failure(early[3])  # ...nor a late failure decides for the probe
    assert breaker.state is BreakerState.HALF_OPEN and breaker.admit() is None
    breaker.record_failure(probe)
    assert breaker.state is BreakerState.OPEN and breaker.times_opened == 2
    clock.now += 10
    probe = breaker.admit()
    assert probe is not None
    breaker.release(probe)  # no verdict: the next call may probe
    probe = breaker.admit()
    assert probe is not None
    breaker.record_success(probe)
    assert breaker.state is BreakerState.CLOSED
    later = breaker.admit()
    assert later is not None
    breaker.record_failure(early[0])  # from two states ago: not a failure of the closed breaker
    breaker.record_failure(later)
    assert breaker.state is BreakerState.CLOSED
    breaker.record_success(probe)  # a ticket counts once: this must not clear later's failure
    another = breaker.admit()
    assert another is not None
    breaker.record_failure(another)
    assert breaker.state is BreakerState.OPEN


def test_latency_and_time_to_first_token_have_p50_p95_and_p99() -> None:
    metrics = GatewayMetrics()
    for ms in range(1, 101):
        metrics.record("m", "ok", latency_ms=ms * 10.0, ttft_ms=float(ms))
    snapshot = metrics.models["m"].snapshot()
    assert snapshot["latency_ms"] == {"p50": 510.0, "p95": 960.0, "p99": 1000.0}
    assert snapshot["ttft_ms"] == {"p50": 51.0, "p95": 96.0, "p99": 100.0}

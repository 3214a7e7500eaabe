"""One configured model under its policy: deployments by weight, rate limits, a breaker per
deployment, retries with backoff, a deadline, pricing and metrics. Every try is an Attempt.

Strategies (chain, cascade, parallel) call `ManagedModel.call`; it never raises for a model's
failure, it appends what happened to the attempts list and returns the answer or None.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace

import structlog

from agent.contracts import CallRecord
from agent.models.base import ChatModel, ChatRequest, ChatResult, ModelError, Outcome, StreamEvent, TextDelta
from agent.models.breaker import CircuitBreaker, Ticket
from agent.models.cost import PriceKey, PriceOverride, Pricer
from agent.models.limits import RateLimiter, Throttled
from agent.models.metrics import GatewayMetrics

log = structlog.get_logger(__name__)

OnDelta = Callable[[str], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Attempt:
    model: str
    provider: str
    outcome: Outcome
    latency_ms: float
    result: ChatResult | None = None
    error: str | None = None
    ttft_ms: float | None = None
    deployment: str | None = None
    retry: int = 0  # 0 for the first try at this model, 1 for the first retry, ...
    reason: str | None = None  # why a cascade check turned an answer down
    priced: bool = True  # False when no price is known: its cost is unknown, not zero

    @property
    def error_class(self) -> str | None:
        if self.outcome is Outcome.OK:
            return None
        return self.reason or self.outcome.value

    def record(self) -> CallRecord:
        """The attempt as it is stored: the one place its fields become a model_calls row's."""
        result = self.result
        return CallRecord(
            model=self.model,
            provider=self.provider,
            outcome=self.outcome.value,
            latency_ms=self.latency_ms,
            input_tokens=result.input_tokens if result else 0,
            output_tokens=result.output_tokens if result else 0,
            # An answer nobody could price has an unknown cost (NULL), not a free one.
            cost_usd=(result.cost_usd if self.priced else None) if result else 0.0,
            error=self.error,
            ttft_ms=self.ttft_ms,
            error_class=self.error_class,
            cached_tokens=result.cached_tokens if result else 0,
            cache_write_tokens=result.cache_write_tokens if result else 0,
            reasoning_tokens=result.reasoning_tokens if result else 0,
            deployment=self.deployment,
            retry=self.retry,
        )


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    retries: int = 1
    base_s: float = 0.2
    max_s: float = 2.0
    # A provider asking for a longer wait than this is skipped for now, not waited for.
    max_retry_after_s: float = 5.0
    retry_on: frozenset[Outcome] = frozenset({Outcome.RATE_LIMITED, Outcome.SERVER_ERROR})

    def delay(self, retry: int, retry_after: float | None, rng: random.Random) -> float | None:
        """Seconds before retry number `retry` (1-based), or None when it should not be made."""
        if retry_after is not None:
            return retry_after if retry_after <= self.max_retry_after_s else None
        # Exponential backoff with full jitter: spreads retries from many callers apart.
        return rng.uniform(0, min(self.max_s, self.base_s * 2 ** (retry - 1)))


@dataclass(eq=False)
class Deployment:
    """One place a model is served (a key, a region, a host), with its own breaker and limits."""

    model: ChatModel
    label: str
    weight: float = 1.0
    breaker: CircuitBreaker = field(default_factory=CircuitBreaker)
    limiter: RateLimiter = field(default_factory=RateLimiter)
    price_key: PriceKey | None = None


def _estimate_tokens(request: ChatRequest) -> int:
    # About four characters a token: enough to keep a tokens-per-minute budget honest.
    return sum(len(m.content) for m in request.messages) // 4 + 1


class ManagedModel:
    def __init__(
        self,
        name: str,
        deployments: Sequence[Deployment],
        retry: RetryPolicy = RetryPolicy(),
        pricer: Pricer | None = None,
        price_override: PriceOverride | None = None,
        metrics: GatewayMetrics | None = None,
        rng: random.Random | None = None,
    ) -> None:
        if not deployments:
            raise ValueError(f"model {name!r} needs at least one deployment")
        self.name = name
        self.deployments = list(deployments)
        self.provider = self.deployments[0].model.provider
        self.retry = retry
        self._pricer = pricer
        self._override = price_override
        self.metrics = metrics
        self._rng = rng or random.Random()

    @classmethod
    def single(cls, model: ChatModel, **kwargs: object) -> "ManagedModel":
        """A bare model with the default breaker and no retries (tests, the model tier)."""
        kwargs.setdefault("retry", RetryPolicy(retries=0))
        return cls(model.name, [Deployment(model, label=model.name)], **kwargs)  # type: ignore[arg-type]

    @property
    def timeout_s(self) -> float:
        return max(d.model.timeout_s for d in self.deployments)

    def health(self) -> list[dict[str, object]]:
        return [
            {"deployment": d.label, "weight": d.weight, "breaker": d.breaker.state.value, "times_opened": d.breaker.times_opened,
             "rate_limit_waiting": d.limiter.waiting}
            for d in self.deployments
        ]  # fmt: skip

    # -- calls -----------------------------------------------------------------------------

    async def call(
        self,
        request: ChatRequest,
        attempts: list[Attempt],
        deadline: float | None = None,
        on_delta: OnDelta | None = None,
        keep_empty: bool = False,
    ) -> ChatResult | None:
        """Try this model (retrying as the policy allows); None when it gave no answer.

        With `on_delta`, the answer is streamed; once a piece has been passed on, a failure is
        not retried (the listener has seen text that a retry would contradict). With
        `keep_empty`, an empty answer is returned for the caller's checks to judge instead of
        being a `bad_response`.
        """
        tried: list[Deployment] = []
        for retry in range(self.retry.retries + 1):
            picked = self._pick(tried)
            if picked is None:
                attempts.append(Attempt(self.name, self.provider, Outcome.CIRCUIT_OPEN, 0.0, error="every deployment's breaker is open", retry=retry))
                if self.metrics is not None:
                    self.metrics.record(self.name, Outcome.CIRCUIT_OPEN.value, 0.0, provider=self.provider)
                return None
            deployment, ticket = picked
            tried.append(deployment)
            streamed: list[bool] = []
            retry_after = await self._try(deployment, ticket, request, attempts, deadline, retry, on_delta, streamed, keep_empty)
            attempt = attempts[-1]
            if attempt.result is not None:
                return attempt.result
            if retry == self.retry.retries or attempt.outcome not in self.retry.retry_on or streamed:
                return None
            delay = self.retry.delay(retry + 1, retry_after, self._rng)
            loop = asyncio.get_running_loop()
            if delay is None or (deadline is not None and loop.time() + delay >= deadline):
                return None
            await asyncio.sleep(delay)
        return None

    def _pick(self, tried: list[Deployment]) -> tuple[Deployment, Ticket] | None:
        """A deployment by weight, preferring one not tried yet, with its breaker's ticket;
        None if every breaker is open."""
        if len(self.deployments) == 1:
            only = self.deployments[0]
            ticket = only.breaker.admit()
            return (only, ticket) if ticket is not None else None
        fresh = [d for d in self.deployments if d not in tried and d.breaker.available()]
        pool = fresh or [d for d in self.deployments if d.breaker.available()]
        while pool:
            choice = self._rng.choices(pool, weights=[d.weight for d in pool])[0]
            ticket = choice.breaker.admit()
            if ticket is not None:
                return choice, ticket
            pool.remove(choice)
        return None

    async def _try(
        self,
        deployment: Deployment,
        ticket: Ticket,
        request: ChatRequest,
        attempts: list[Attempt],
        deadline: float | None,
        retry: int,
        on_delta: OnDelta | None,
        streamed: list[bool],
        keep_empty: bool = False,
    ) -> float | None:
        """One call to one deployment; appends its Attempt and returns any Retry-After."""
        model = deployment.model
        started = time.perf_counter()
        estimate = _estimate_tokens(request)

        def done(outcome: Outcome, error: str | None = None, result: ChatResult | None = None, retry_after: float | None = None) -> float | None:
            latency = (time.perf_counter() - started) * 1000
            ttft = result.ttft_ms if result is not None else None
            priced = self._priced(deployment)
            attempts.append(
                Attempt(self.name, model.provider, outcome, latency, result, error, ttft, deployment.label, retry, priced=priced)
            )
            if self.metrics is not None:
                tokens = (result.input_tokens, result.output_tokens, result.cached_tokens, result.reasoning_tokens) if result else (0, 0, 0, 0)
                cost = result.cost_usd if result is not None and priced else (None if result else 0.0)
                self.metrics.record(self.name, outcome.value, latency, ttft, tokens, cost, provider=model.provider)
            return retry_after

        try:
            await deployment.limiter.acquire(estimate)
        except Throttled as exc:
            deployment.breaker.release(ticket)
            return done(Outcome.THROTTLED, str(exc))
        except asyncio.CancelledError:
            deployment.breaker.release(ticket)
            raise
        loop = asyncio.get_running_loop()
        limit_at = loop.time() + model.timeout_s
        if deadline is not None:
            limit_at = min(limit_at, deadline)
        budget = limit_at - loop.time()
        try:
            async with asyncio.timeout_at(limit_at):
                if on_delta is None:
                    result = await model.complete(request)
                else:
                    result = await _stream(model.stream(request), on_delta, streamed)
        except TimeoutError:
            deployment.breaker.record_failure(ticket)
            return done(Outcome.TIMEOUT, f"no answer within {budget:.2f}s")
        except ModelError as exc:
            if exc.outcome.is_failure:
                deployment.breaker.record_failure(ticket)
            else:
                deployment.breaker.release(ticket)  # the request's fault (too long, refused), not the model's
            return done(exc.outcome, str(exc), retry_after=exc.retry_after)
        except asyncio.CancelledError:
            deployment.breaker.release(ticket)
            # A parallel call another model won: still a call made, and recorded as such.
            done(Outcome.CANCELLED, "cancelled: another model answered first, or the turn ended")
            raise
        except Exception as exc:  # a provider bug must not take the turn down with it
            deployment.breaker.record_failure(ticket)
            log.exception("model_call_crashed", model=self.name)
            return done(Outcome.ERROR, f"{type(exc).__name__}: {exc}")
        if not keep_empty and not result.text.strip() and not result.tool_calls:
            deployment.breaker.record_failure(ticket)
            return done(Outcome.BAD_RESPONSE, "empty answer")
        deployment.breaker.record_success(ticket)
        deployment.limiter.settle(estimate, result.input_tokens + result.output_tokens)
        result = self._price(deployment, result)
        return done(Outcome.OK, result=result)

    def _priced(self, deployment: Deployment) -> bool:
        if self._override is not None:
            return True
        return self._pricer is not None and deployment.price_key is not None and self._pricer.known(deployment.price_key)

    def _price(self, deployment: Deployment, result: ChatResult) -> ChatResult:
        if self._pricer is None or deployment.price_key is None:
            if self._override is not None:
                return replace(result, cost_usd=self._override.cost(result))
            return result
        cost = self._pricer.cost(result, deployment.price_key, self._override)
        return replace(result, cost_usd=cost) if cost is not None else result


async def _stream(events: AsyncIterator[StreamEvent], on_delta: OnDelta, streamed: list[bool]) -> ChatResult:
    result: ChatResult | None = None
    async with contextlib.aclosing(events):  # type: ignore[type-var]
        async for event in events:
            if isinstance(event, TextDelta):
                streamed.append(True)
                await on_delta(event.text)
            else:
                result = event
    if result is None:
        raise ModelError(Outcome.BAD_RESPONSE, "the stream ended without a result")
    return result


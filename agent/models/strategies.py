"""Route strategies beyond the plain chain: cascade (cheap first, escalate on a failed check),
parallel (first good answer, or a judge model picks), and the response cache in front."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Sequence
from dataclasses import replace

import structlog

from agent.models.base import ChatMessage, ChatModel, ChatRequest, ChatResult, Outcome
from agent.models.cache import ResponseCache
from agent.models.chain import ChainResult, OnReset, RouteStrategy, deadline_at, link_deadline, managed
from agent.models.checks import AnswerChecks, ask_for_confidence, last_resort, take_confidence
from agent.models.managed import Attempt, ManagedModel, OnDelta
from agent.models.metrics import GatewayMetrics

log = structlog.get_logger(__name__)


class Cascade:
    """The cheapest model first; the next one only when the answer fails a check.

    The last model's answer is final (nobody stronger to ask). If it fails outright, the last
    answer a check turned down is better than none, and is sent.
    """

    strategy = "cascade"

    def __init__(self, models: Sequence[ChatModel | ManagedModel], checks: AnswerChecks = AnswerChecks(), metrics: GatewayMetrics | None = None) -> None:
        self.models = managed(models)
        self.checks = checks
        self.metrics = metrics

    async def run(self, request: ChatRequest, deadline_s: float | None = None) -> ChainResult:
        deadline = deadline_at(deadline_s)
        attempts: list[Attempt] = []
        turned_down: ChatResult | None = None
        for i, model in enumerate(self.models):
            last = i == len(self.models) - 1
            asked = ask_for_confidence(request) if self.checks.min_confidence is not None and not last else request
            # Like a chain: a model hanging to the end must leave the ones after it time.
            # The `empty` check judges an empty answer; without it (or from the last model, which
            # no check judges) an empty answer stays the model's failure.
            keep_empty = self.checks.empty and not last
            result = await model.call(asked, attempts, link_deadline(deadline, deadline_s, len(self.models) - 1 - i), keep_empty=keep_empty)
            if result is None:
                continue
            result, confidence = take_confidence(result)
            failed = None if last else self.checks.failed(result, confidence)
            if failed is None:
                attempts[-1] = replace(attempts[-1], result=result)
                return ChainResult(result, attempts)
            log.info("cascade_escalates", model=model.name, check=failed)
            attempts[-1] = replace(attempts[-1], outcome=Outcome.REJECTED, reason=failed, result=result)
            if self.metrics is not None:
                self.metrics.record_rejection(model.name, failed)
            if last_resort(failed):
                turned_down = result
        return ChainResult(turned_down, attempts)

    async def run_stream(self, request: ChatRequest, on_delta: OnDelta, on_reset: OnReset, deadline_s: float | None = None) -> ChainResult:
        # Checks need the whole answer: run it, then pass it on in one piece.
        outcome = await self.run(request, deadline_s)
        if outcome.result is not None:
            await on_delta(outcome.result.text)
        return outcome


JUDGE_PROMPT = (
    "You are choosing the best reply a customer-service assistant could send. Judge accuracy, "
    "helpfulness and staying on topic. Answer with the number of the best reply and nothing else."
)
_NUMBER = re.compile(r"\d+")
# Of a route's deadline, the share parallel candidates leave for the judge. More than a chain
# keeps back for the local model: the judge is a real model call, prompt and all.
JUDGE_SHARE = 0.25


class Parallel:
    """Every model at once. Without a judge, the first answer that passes the checks wins and
    the rest are cancelled; with one, all answers are gathered and the judge picks among those
    that pass. With `min_confidence`, every model is asked to rate its answer."""

    strategy = "parallel"

    def __init__(
        self,
        models: Sequence[ChatModel | ManagedModel],
        judge: ChatModel | ManagedModel | None = None,
        checks: AnswerChecks = AnswerChecks(refusal=False, dont_know=False, cut_off=False),
    ) -> None:
        self.models = managed(models)
        self.judge = managed([judge])[0] if judge is not None else None
        self.checks = checks

    async def run(self, request: ChatRequest, deadline_s: float | None = None) -> ChainResult:
        deadline = deadline_at(deadline_s)
        logs: list[list[Attempt]] = [[] for _ in self.models]
        # With a judge, a candidate that hangs must not use up the judge's time too.
        until = link_deadline(deadline, deadline_s, 1 if self.judge is not None else 0, JUDGE_SHARE)
        asked = ask_for_confidence(request) if self.checks.min_confidence is not None else request
        tasks = [asyncio.create_task(m.call(asked, logs[i], until)) for i, m in enumerate(self.models)]
        winner: ChatResult | None = None
        results: list[ChatResult | None] = []
        try:
            if self.judge is None:
                winner = await self._first_good(tasks)
            else:
                results = await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        attempts = [a for log_ in logs for a in log_]  # after the losers recorded their cancellation
        if self.judge is None:
            return ChainResult(winner, attempts)
        rated = [take_confidence(r) for r in results if r is not None]
        judged = [(r, self.checks.failed(r, confidence)) for r, confidence in rated]  # each checked once
        good = [r for r, failed in judged if failed is None]
        if len(good) <= 1:
            sendable = (r for r, failed in judged if last_resort(failed))
            return ChainResult(good[0] if good else next(sendable, None), attempts)
        choice = await self._ask_judge(request, good, attempts, deadline)
        return ChainResult(good[choice], attempts)

    async def run_stream(self, request: ChatRequest, on_delta: OnDelta, on_reset: OnReset, deadline_s: float | None = None) -> ChainResult:
        outcome = await self.run(request, deadline_s)
        if outcome.result is not None:
            await on_delta(outcome.result.text)
        return outcome

    async def _first_good(self, tasks: list[asyncio.Task[ChatResult | None]]) -> ChatResult | None:
        fallback: ChatResult | None = None
        for next_done in asyncio.as_completed(tasks):
            result = await next_done
            if result is None:
                continue
            result, confidence = take_confidence(result)
            failed = self.checks.failed(result, confidence)
            if failed is None:
                return result
            if last_resort(failed):
                fallback = fallback or result
        return fallback

    async def _ask_judge(self, request: ChatRequest, answers: list[ChatResult], attempts: list[Attempt], deadline: float | None) -> int:
        assert self.judge is not None
        listed = "\n\n".join(f"Reply {i + 1}:\n{a.text}" for i, a in enumerate(answers))
        prompt = f"The customer wrote:\n{request.last_user_text}\n\n{listed}\n\nThe number of the best reply:"
        verdict = await self.judge.call(
            ChatRequest([ChatMessage("system", JUDGE_PROMPT), ChatMessage("user", prompt)], route=request.route, max_tokens=8, temperature=0.0),
            attempts,
            deadline,
        )
        match = _NUMBER.search(verdict.text) if verdict is not None else None
        if match and 1 <= int(match.group()) <= len(answers):
            return int(match.group()) - 1
        log.warning("judge_gave_no_choice", verdict=verdict.text[:50] if verdict else None)
        return 0


class CachedRoute:
    """An exact-match cache in front of a route's strategy; a hit is recorded as a call to
    `cache` that costs nothing."""

    def __init__(self, inner: RouteStrategy, cache: ResponseCache) -> None:
        self.inner = inner
        self.cache = cache
        self.strategy = inner.strategy

    async def run(self, request: ChatRequest, deadline_s: float | None = None) -> ChainResult:
        hit = self._hit(request)
        if hit is not None:
            return hit
        outcome = await self.inner.run(request, deadline_s)
        self._keep(request, outcome)
        return outcome

    async def run_stream(self, request: ChatRequest, on_delta: OnDelta, on_reset: OnReset, deadline_s: float | None = None) -> ChainResult:
        hit = self._hit(request)
        if hit is not None and hit.result is not None:
            await on_delta(hit.result.text)
            return hit
        outcome = await self.inner.run_stream(request, on_delta, on_reset, deadline_s)
        self._keep(request, outcome)
        return outcome

    def _hit(self, request: ChatRequest) -> ChainResult | None:
        started = time.perf_counter()
        result = self.cache.get(request)
        if result is None:
            return None
        latency = (time.perf_counter() - started) * 1000
        free = replace(result, input_tokens=0, output_tokens=0, cached_tokens=0, cache_write_tokens=0, reasoning_tokens=0, cost_usd=0.0, latency_ms=latency, ttft_ms=latency)
        return ChainResult(free, [Attempt(result.model, "cache", Outcome.OK, latency, free, ttft_ms=latency, deployment="cache")])

    def _keep(self, request: ChatRequest, outcome: ChainResult) -> None:
        result = outcome.result
        ok = outcome.attempts and outcome.attempts[-1].outcome is Outcome.OK
        # An answer from a tool's result is this customer's (their order, their account): never kept.
        used_tools = any(m.role == "tool" or m.tool_calls for m in request.messages)
        if result is not None and ok and result.finish_reason == "stop" and not result.tool_calls and not used_tools:
            self.cache.put(request, result)

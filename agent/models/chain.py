"""A fallback chain: try each model in order until one answers; record every attempt."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import structlog

from agent.models.base import ChatModel, ChatRequest, ChatResult, ModelError, Outcome

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Attempt:
    model: str
    provider: str
    outcome: Outcome
    latency_ms: float
    result: ChatResult | None = None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class ChainResult:
    result: ChatResult | None
    attempts: list[Attempt] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.result is not None


class ModelChain:
    def __init__(self, models: Sequence[ChatModel]) -> None:
        if not models:
            raise ValueError("a chain needs at least one model")
        self.models = list(models)

    async def run(self, request: ChatRequest) -> ChainResult:
        """Never raises for a model's failure: it is an attempt with an outcome."""
        attempts: list[Attempt] = []
        for model in self.models:
            attempt = await self._attempt(model, request)
            attempts.append(attempt)
            if attempt.result is not None:
                return ChainResult(attempt.result, attempts)
            log.warning("model_failed", model=model.name, outcome=attempt.outcome.value, error=attempt.error)
        return ChainResult(None, attempts)

    @staticmethod
    async def _attempt(model: ChatModel, request: ChatRequest) -> Attempt:
        started = time.perf_counter()

        def elapsed() -> float:
            return (time.perf_counter() - started) * 1000

        try:
            async with asyncio.timeout(model.timeout_s):
                result = await model.complete(request)
        except TimeoutError:
            return Attempt(model.name, model.provider, Outcome.TIMEOUT, elapsed(), error=f"no answer in {model.timeout_s}s")
        except ModelError as exc:
            return Attempt(model.name, model.provider, exc.outcome, elapsed(), error=str(exc))
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a provider bug must not take the turn down with it
            return Attempt(model.name, model.provider, Outcome.ERROR, elapsed(), error=f"{type(exc).__name__}: {exc}")
        if not result.text.strip():
            return Attempt(model.name, model.provider, Outcome.BAD_RESPONSE, elapsed(), error="empty answer")
        return Attempt(model.name, model.provider, Outcome.OK, elapsed(), result=result)

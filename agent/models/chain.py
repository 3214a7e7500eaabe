"""A fallback chain: try each model in order until one answers; record every attempt.

Also the shape every route strategy shares (`RouteStrategy`): `run` for a whole answer,
`run_stream` to pass pieces on as they come. Cascade and parallel live in strategies.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import structlog

from agent.models.base import ChatModel, ChatRequest, ChatResult
from agent.models.managed import Attempt, ManagedModel, OnDelta

log = structlog.get_logger(__name__)

OnReset = Callable[[], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class ChainResult:
    result: ChatResult | None
    attempts: list[Attempt] = field(default_factory=list)
    # Text already passed to a listener by a model that then failed: the listener must drop it.
    abandoned_stream: bool = False

    @property
    def ok(self) -> bool:
        return self.result is not None


class RouteStrategy(Protocol):
    strategy: str

    async def run(self, request: ChatRequest, deadline_s: float | None = None) -> ChainResult: ...

    async def run_stream(
        self, request: ChatRequest, on_delta: OnDelta, on_reset: OnReset, deadline_s: float | None = None
    ) -> ChainResult: ...


def managed(models: Sequence[ChatModel | ManagedModel]) -> list[ManagedModel]:
    if not models:
        raise ValueError("a route needs at least one model")
    return [m if isinstance(m, ManagedModel) else ManagedModel.single(m) for m in models]


# Of a route's deadline, the share kept back for the links after the current one, so that a
# model hanging until the deadline still leaves the local model (microseconds) time to answer.
RESERVE_SHARE = 0.1


def deadline_at(deadline_s: float | None) -> float | None:
    return None if deadline_s is None else asyncio.get_running_loop().time() + deadline_s


def link_deadline(deadline: float | None, deadline_s: float | None, later_links: int, share: float = RESERVE_SHARE) -> float | None:
    """When the current link must give up: `share` of the route's deadline before the end,
    if anything is still to run after it."""
    if deadline is None or deadline_s is None or not later_links:
        return deadline
    return deadline - share * deadline_s


class ModelChain:
    """Models in order; the first answer wins. Never raises for a model's failure."""

    strategy = "chain"

    def __init__(self, models: Sequence[ChatModel | ManagedModel]) -> None:
        self.models = managed(models)

    async def run(self, request: ChatRequest, deadline_s: float | None = None) -> ChainResult:
        deadline = deadline_at(deadline_s)
        attempts: list[Attempt] = []
        for i, model in enumerate(self.models):
            result = await model.call(request, attempts, link_deadline(deadline, deadline_s, len(self.models) - 1 - i))
            if result is not None:
                return ChainResult(result, attempts)
            log.warning("model_failed", model=model.name, outcome=attempts[-1].outcome.value, error=attempts[-1].error)
        return ChainResult(None, attempts)

    async def run_stream(
        self, request: ChatRequest, on_delta: OnDelta, on_reset: OnReset, deadline_s: float | None = None
    ) -> ChainResult:
        """Stream from the first model that answers. A model that breaks off midway is
        followed by the next one, after `on_reset` tells the listener to drop what it got."""
        deadline = deadline_at(deadline_s)
        attempts: list[Attempt] = []
        abandoned = False
        for i, model in enumerate(self.models):
            sent: list[str] = []

            async def forward(text: str) -> None:
                sent.append(text)
                await on_delta(text)

            result = await model.call(request, attempts, link_deadline(deadline, deadline_s, len(self.models) - 1 - i), on_delta=forward)
            if result is not None:
                return ChainResult(result, attempts)
            if sent:
                abandoned = True
                await on_reset()
            log.warning("model_failed", model=model.name, outcome=attempts[-1].outcome.value, error=attempts[-1].error)
        return ChainResult(None, attempts, abandoned_stream=abandoned)

"""Per-model counters: calls, outcomes, latency and time-to-first-token quantiles, tokens, cost.

Memory stays flat however long the process runs: counters are numbers and the latency
samples live in fixed-size rings. Observers (the Prometheus exporter) hear of every call as a
`ModelCall`, from the same place these counters are kept.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

SAMPLES = 2048


def quantile(samples: deque[float], q: float) -> float | None:
    if not samples:
        return None
    ordered = sorted(samples)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 3)


@dataclass
class ModelStats:
    calls: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0
    reasoning_tokens: int = 0
    cost_usd: float = 0.0
    unpriced_calls: int = 0
    rejections: Counter[str] = field(default_factory=Counter)  # cascade checks that sent a turn onward
    latency_ms: deque[float] = field(default_factory=lambda: deque(maxlen=SAMPLES))
    ttft_ms: deque[float] = field(default_factory=lambda: deque(maxlen=SAMPLES))

    def snapshot(self) -> dict[str, Any]:
        return {
            "calls": self.calls,
            "outcomes": dict(self.outcomes),
            "errors": sum(n for outcome, n in self.outcomes.items() if outcome not in ("ok", "rejected", "cancelled")),
            "latency_ms": {"p50": quantile(self.latency_ms, 0.5), "p95": quantile(self.latency_ms, 0.95), "p99": quantile(self.latency_ms, 0.99)},
            "ttft_ms": {"p50": quantile(self.ttft_ms, 0.5), "p95": quantile(self.ttft_ms, 0.95), "p99": quantile(self.ttft_ms, 0.99)},
            "tokens": {"input": self.input_tokens, "output": self.output_tokens, "cached": self.cached_tokens, "reasoning": self.reasoning_tokens},
            "cost_usd": round(self.cost_usd, 8),
            "unpriced_calls": self.unpriced_calls,
            "rejections": dict(self.rejections),
        }


@dataclass(frozen=True, slots=True)
class ModelCall:
    """One try at a model, as its observers hear of it."""

    model: str
    provider: str
    outcome: str
    latency_ms: float
    ttft_ms: float | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float | None = 0.0  # None: no price is known


ModelCallObserver = Callable[[ModelCall], None]


class GatewayMetrics:
    def __init__(self) -> None:
        self.models: dict[str, ModelStats] = {}
        self.observers: list[ModelCallObserver] = []

    def _stats(self, model: str) -> ModelStats:
        stats = self.models.get(model)
        if stats is None:
            stats = self.models[model] = ModelStats()
        return stats

    def record_rejection(self, model: str, check: str) -> None:
        self._stats(model).rejections[check] += 1

    def record(
        self,
        model: str,
        outcome: str,
        latency_ms: float,
        ttft_ms: float | None = None,
        tokens: tuple[int, int, int, int] = (0, 0, 0, 0),
        cost_usd: float | None = 0.0,
        provider: str = "",
    ) -> None:
        stats = self._stats(model)
        stats.calls += 1
        stats.outcomes[outcome] += 1
        stats.latency_ms.append(latency_ms)
        if ttft_ms is not None:
            stats.ttft_ms.append(ttft_ms)
        stats.input_tokens += tokens[0]
        stats.output_tokens += tokens[1]
        stats.cached_tokens += tokens[2]
        stats.reasoning_tokens += tokens[3]
        if cost_usd is None:
            stats.unpriced_calls += 1
        else:
            stats.cost_usd += cost_usd
        if self.observers:
            call = ModelCall(model, provider, outcome, latency_ms, ttft_ms, tokens[0], tokens[1], cost_usd)
            for observer in self.observers:
                observer(call)

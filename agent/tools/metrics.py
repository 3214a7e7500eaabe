"""Per-tool counters beside the models': calls, outcomes, latency quantiles, response sizes.

Observers (the Prometheus exporter) hear of every call, from the same place.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from agent.contracts import ToolCallRecord
from agent.models.metrics import SAMPLES, quantile


@dataclass
class ToolStats:
    calls: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    response_bytes: int = 0
    latency_ms: deque[float] = field(default_factory=lambda: deque(maxlen=SAMPLES))

    def snapshot(self) -> dict[str, Any]:
        return {
            "calls": self.calls,
            "outcomes": dict(self.outcomes),
            "errors": sum(n for outcome, n in self.outcomes.items() if outcome in ("error", "timeout", "bad_response")),
            "latency_ms": {q: quantile(self.latency_ms, v) for q, v in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99))},
            "response_bytes": self.response_bytes,
        }


ToolCallObserver = Callable[[ToolCallRecord], None]


class ToolMetrics:
    def __init__(self) -> None:
        self.tools: dict[str, ToolStats] = {}
        self.observers: list[ToolCallObserver] = []

    def record(self, call: ToolCallRecord) -> None:
        stats = self.tools.setdefault(call.tool, ToolStats())
        stats.calls += 1
        stats.outcomes[call.outcome.value] += 1
        stats.response_bytes += call.response_bytes
        stats.latency_ms.append(call.latency_ms)
        for observer in self.observers:
            observer(call)

    def snapshot(self) -> dict[str, Any]:
        return {name: stats.snapshot() for name, stats in sorted(self.tools.items())}

"""One model attempt as the manager hands it to the store: what was called, how it went, what it cost."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CallRecord:
    """One model attempt as it is stored: the models make it, the store writes it field by field
    into its model_calls row (the same names), and no layer in between copies it."""

    model: str
    provider: str
    outcome: str
    latency_ms: float
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float | None = 0.0  # None: the model has no known price
    error: str | None = None
    ttft_ms: float | None = None
    error_class: str | None = None
    cached_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0
    deployment: str | None = None
    retry: int = 0

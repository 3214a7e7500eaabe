"""The gateway: every configured model under its policy, each route's strategy, and their health.

Built once by the composition root; the manager asks it for a route's strategy, the metrics
endpoint for a snapshot.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from agent.models.cache import ResponseCache
from agent.models.chain import RouteStrategy
from agent.models.managed import ManagedModel
from agent.models.metrics import GatewayMetrics
from agent.models.providers.registry import ClientPool


class Gateway:
    def __init__(
        self,
        models: Mapping[str, ManagedModel],
        routes: Mapping[str, RouteStrategy],
        metrics: GatewayMetrics,
        pool: ClientPool,
        caches: Mapping[str, ResponseCache] | None = None,
    ) -> None:
        self.models = dict(models)
        self.routes = dict(routes)
        self.metrics = metrics
        self.pool = pool
        self.caches = dict(caches or {})

    def snapshot(self) -> dict[str, Any]:
        """Per model: calls, outcomes, latency, tokens, cost and each deployment's breaker."""
        models: dict[str, Any] = {}
        for name, model in self.models.items():
            stats = self.metrics.models.get(name)
            models[name] = {"provider": model.provider, **(stats.snapshot() if stats else {"calls": 0}), "deployments": model.health()}
        routes = {
            name: {"strategy": route.strategy, "cache": self.caches[name].snapshot() if name in self.caches else None}
            for name, route in self.routes.items()
        }
        return {"models": models, "routes": routes}

    async def aclose(self) -> None:
        await self.pool.aclose()

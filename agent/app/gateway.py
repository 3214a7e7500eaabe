"""Part of the composition root: the model gateway, built from the `models` and `routes` settings.

Kept apart from server.py so the wiring of providers, policies and strategies reads in one
place; nothing outside the composition root imports it.
"""

from __future__ import annotations

import random

from agent.models import AnswerChecks, ChatModel, Gateway, ManagedModel, ModelChain
from agent.models.base import Outcome
from agent.models.breaker import CircuitBreaker
from agent.models.cache import CacheSettings, ResponseCache
from agent.models.chain import RouteStrategy
from agent.models.cost import FREE, PriceKey, PriceOverride, Pricer
from agent.models.limits import RateLimiter
from agent.models.local import Catalog, LocalModel
from agent.models.managed import Deployment, RetryPolicy
from agent.models.metrics import GatewayMetrics
from agent.models.providers import (
    ClientPool,
    ModelSpec,
    ProviderRegistry,
    Timeouts,
    http_registry,
)
from agent.models.strategies import CachedRoute, Cascade, Parallel
from agent.settings import ModelSettings, RoutePolicy, Settings, environment
from personas import Persona


def provider_registry(settings: Settings, persona: Persona, pool: ClientPool) -> ProviderRegistry:
    registry = http_registry(pool)
    catalogs: list[Catalog] = []

    def local(spec: ModelSpec, _pool: ClientPool) -> ChatModel:
        if not catalogs:  # read once, shared by every local model
            k = settings.knowledge
            catalogs.append(Catalog.from_file(settings.resolve(k.catalog)))
        return LocalModel(
            catalogs[0], greeting=persona.greeting, fallback=persona.fallback, name=spec.name, identity=persona.identity
        )

    registry.register("local", local)
    return registry


def build_model(name: str, spec: ModelSettings, registry: ProviderRegistry, pricer: Pricer, metrics: GatewayMetrics) -> ManagedModel:
    """One configured model: a deployment per entry of `deployments` (or the model itself)."""
    timeouts = Timeouts(connect_s=spec.connect_timeout_s, first_token_s=spec.first_token_timeout_s, total_s=spec.timeout_s)
    places = spec.deployments or [None]
    deployments = []
    for i, place in enumerate(places):
        key_env = (place.api_key_env if place and place.api_key_env else spec.api_key_env)
        key_name = f"deployments.{i}.api_key_env" if place and place.api_key_env else "api_key_env"
        base_url = (place.base_url if place and place.base_url else spec.base_url)
        model_id = (place.model if place and place.model else spec.model) or name
        model = registry.build(
            ModelSpec(
                name=name, provider=spec.provider, model=model_id, base_url=base_url, api_key=environment.api_key(name, key_env, key_name),
                timeouts=timeouts, max_tokens=spec.max_tokens, temperature=spec.temperature, headers=spec.headers,
                query=spec.query, api_key_header=spec.api_key_header,
            )
        )  # fmt: skip
        limit = spec.rate_limit
        deployments.append(
            Deployment(
                model,
                label=f"{i}:{base_url or spec.provider}" if len(places) > 1 else (base_url or spec.provider),
                weight=place.weight if place else 1.0,
                breaker=CircuitBreaker(spec.breaker.failures, spec.breaker.window_s, spec.breaker.cooldown_s),
                limiter=RateLimiter(
                    (place.rpm if place and place.rpm else limit.rpm), (place.tpm if place and place.tpm else limit.tpm),
                    limit.queue, limit.queue_wait_s,
                ),
                price_key=None if spec.provider == "local" else PriceKey(spec.price_as or model_id, spec.provider, base_url, named=spec.price_as is not None),
            )
        )  # fmt: skip
    r = spec.retries
    retry = RetryPolicy(r.retries, r.backoff_s, r.backoff_max_s, r.max_retry_after_s, frozenset(Outcome(o) for o in r.on))
    override = PriceOverride(**spec.price.model_dump()) if spec.price else (FREE if spec.provider == "local" else None)
    return ManagedModel(name, deployments, retry, pricer, override, metrics, random.Random())


def build_route(policy: RoutePolicy, models: dict[str, ManagedModel], metrics: GatewayMetrics) -> tuple[RouteStrategy, ResponseCache | None]:
    chain = [models[n] for n in policy.chain]
    c = policy.checks
    checks = AnswerChecks(c.refusal, c.dont_know, c.empty, c.cut_off, c.min_confidence, tuple(c.phrases))
    strategy: RouteStrategy
    if policy.strategy == "cascade":
        strategy = Cascade(chain, checks, metrics)
    elif policy.strategy == "parallel":
        judge = models[policy.judge] if policy.judge else None
        # Parallel's own default only drops failed and empty answers; configured checks apply as written.
        strategy = Parallel(chain, judge, checks) if "checks" in policy.model_fields_set else Parallel(chain, judge)
    else:
        strategy = ModelChain(chain)
    if policy.cache.enabled and not policy.personal:
        cache = ResponseCache(CacheSettings(policy.cache.ttl_s, policy.cache.max_entries))
        return CachedRoute(strategy, cache), cache
    return strategy, None


def build_gateway(settings: Settings, persona: Persona) -> Gateway:
    """Every model and route from the settings. A missing key variable is a ConfigError here,
    at start-up, naming the key."""
    pool = ClientPool()
    registry = provider_registry(settings, persona, pool)
    pricer, metrics = Pricer(), GatewayMetrics()
    models = {name: build_model(name, spec, registry, pricer, metrics) for name, spec in settings.models.items()}
    routes: dict[str, RouteStrategy] = {}
    caches: dict[str, ResponseCache] = {}
    for route, policy in settings.routes.items():
        routes[route], cache = build_route(policy, models, metrics)
        if cache is not None:
            caches[route] = cache
    return Gateway(models, routes, metrics, pool, caches)

"""Which provider speaks which wire format: a registry of factories, one entry per provider.

Adding a provider means registering one more factory, not editing a dispatcher.
"""

from __future__ import annotations

from collections.abc import Callable

import httpx

from agent.models.base import ChatModel
from agent.models.providers.anthropic import AnthropicProvider
from agent.models.providers.gemini import GeminiProvider
from agent.models.providers.http import HTTPProvider, ModelSpec
from agent.models.providers.openai import OpenAIProvider

# A factory gets the spec and the pool; HTTP providers take their provider's client from it.
ProviderFactory = Callable[[ModelSpec, "ClientPool"], ChatModel]


class UnknownProvider(LookupError):
    pass


class ClientPool:
    """One pooled `httpx.AsyncClient` per provider, made on first use and closed together."""

    def __init__(self, max_connections: int = 100, max_keepalive: int = 20) -> None:
        self._limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_keepalive)
        self._clients: dict[str, httpx.AsyncClient] = {}

    def client(self, provider: str) -> httpx.AsyncClient:
        client = self._clients.get(provider)
        if client is None:
            client = self._clients[provider] = httpx.AsyncClient(limits=self._limits, follow_redirects=False)
        return client

    async def aclose(self) -> None:
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            await client.aclose()


class ProviderRegistry:
    def __init__(self, pool: ClientPool) -> None:
        self.pool = pool
        self._factories: dict[str, ProviderFactory] = {}

    def register(self, provider: str, factory: ProviderFactory) -> None:
        self._factories[provider] = factory

    @property
    def providers(self) -> list[str]:
        return sorted(self._factories)

    def build(self, spec: ModelSpec) -> ChatModel:
        factory = self._factories.get(spec.provider)
        if factory is None:
            raise UnknownProvider(f"unknown provider {spec.provider!r}; known: {', '.join(self.providers)}")
        return factory(spec, self.pool)


def http_registry(pool: ClientPool) -> ProviderRegistry:
    """The providers reached over HTTP; the composition root adds the local model."""
    registry = ProviderRegistry(pool)
    for provider in (OpenAIProvider, AnthropicProvider, GeminiProvider):
        registry.register(provider.provider, _over_http(provider))
    return registry


def _over_http(provider: type[HTTPProvider]) -> ProviderFactory:
    def build(spec: ModelSpec, pool: ClientPool) -> ChatModel:
        return provider(spec, pool.client(provider.provider))

    return build

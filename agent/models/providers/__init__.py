"""Providers reached over HTTP, each in its own wire format, behind one registry."""

from agent.models.providers.anthropic import AnthropicProvider
from agent.models.providers.gemini import GeminiProvider
from agent.models.providers.http import ModelSpec, Timeouts
from agent.models.providers.openai import OpenAIProvider
from agent.models.providers.registry import ClientPool, ProviderRegistry, UnknownProvider, http_registry

__all__ = [
    "AnthropicProvider",
    "ClientPool",
    "GeminiProvider",
    "ModelSpec",
    "OpenAIProvider",
    "ProviderRegistry",
    "Timeouts",
    "UnknownProvider",
    "http_registry",
]

"""What a call cost: the maintained `genai-prices` table, or a price set in the config.

Prices are looked up once per model and kept; each call is then priced from its own usage,
with cached and cache-write prompt tokens at their own rates where the table has them.
"""

from __future__ import annotations

import ipaddress
import warnings
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import structlog
from genai_prices import Usage, calc_price

from agent.models.base import ChatResult

log = structlog.get_logger(__name__)

# Our provider kinds as the price table names them.
PRICE_PROVIDERS = {"openai": "openai", "anthropic": "anthropic", "gemini": "google"}


@dataclass(frozen=True, slots=True)
class PriceOverride:
    """USD per million tokens, from the config; wins over the table."""

    input_per_mtok: float
    output_per_mtok: float
    cached_input_per_mtok: float | None = None
    cache_write_per_mtok: float | None = None

    def cost(self, result: ChatResult) -> float:
        cached, written = result.cached_tokens, result.cache_write_tokens
        fresh = max(0, result.input_tokens - cached - written)
        total = (
            fresh * self.input_per_mtok
            + cached * (self.cached_input_per_mtok if self.cached_input_per_mtok is not None else self.input_per_mtok)
            + written * (self.cache_write_per_mtok if self.cache_write_per_mtok is not None else self.input_per_mtok)
            + result.output_tokens * self.output_per_mtok
        )
        return total / 1_000_000


# What the built-in local model costs: it runs in this process, so a known price of nothing.
FREE = PriceOverride(0.0, 0.0)


@dataclass(frozen=True, slots=True)
class PriceKey:
    model_ref: str
    provider: str
    base_url: str | None = None
    # The config named the table entry (`price_as`): priced as named, wherever it is served.
    named: bool = False


class Pricer:
    def __init__(self) -> None:
        self._prices: dict[PriceKey, Any] = {}  # genai_prices ModelPrice, or None: not in the table

    def cost(self, result: ChatResult, key: PriceKey, override: PriceOverride | None = None) -> float | None:
        """USD, or None when neither the config nor the table knows the model (logged once)."""
        if override is not None:
            return override.cost(result)
        price = self._lookup(key)
        if price is None:
            return None
        usage = Usage(
            input_tokens=result.input_tokens,
            output_tokens=result.output_tokens,
            cache_read_tokens=result.cached_tokens,
            cache_write_tokens=result.cache_write_tokens,
        )
        return float(price.calc_price(usage)["total_price"])

    def known(self, key: PriceKey) -> bool:
        return self._lookup(key) is not None

    def _lookup(self, key: PriceKey) -> Any:
        if key in self._prices:
            return self._prices[key]
        if key.base_url and is_self_hosted(key.base_url) and not key.named:
            # Our own server: a cloud model of the same name says nothing about what it costs.
            log.warning("model_unpriced_self_hosted", model=key.model_ref, base_url=key.base_url)
            self._prices[key] = None
            return None
        price = None
        probe = Usage(input_tokens=1, output_tokens=1)
        attempts: list[dict[str, str]] = []
        if key.base_url and not is_self_hosted(key.base_url):
            attempts.append({"provider_api_url": key.base_url})
        if key.provider in PRICE_PROVIDERS:
            attempts.append({"provider_id": PRICE_PROVIDERS[key.provider]})
        attempts.append({})  # let the table guess the provider from the model name
        for where in attempts:
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    price = calc_price(probe, key.model_ref, **where).model_price  # type: ignore[call-overload]
                break
            except LookupError:
                continue
        if price is None:
            log.warning("model_price_unknown", model=key.model_ref, provider=key.provider)
        self._prices[key] = price
        return price


_PRIVATE_SUFFIXES = (".localhost", ".local", ".internal", ".lan", ".home.arpa")


def is_self_hosted(url: str) -> bool:
    """A loopback, private or link-local address, or a name only a private network resolves
    (one label, as Docker and Kubernetes services have, or a private suffix)."""
    host = (urlsplit(url).hostname or "").rstrip(".").lower()
    if not host:
        return False
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host == "localhost" or "." not in host or host.endswith(_PRIVATE_SUFFIXES)
    return address.is_private or address.is_loopback or address.is_link_local or address.is_unspecified

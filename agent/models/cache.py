"""An exact-match response cache for one route: same prompt, same settings → same answer.

Bounded (least recently used goes first) and timed (entries expire); never built for a route
marked personal, since its prompts carry one customer's details.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import OrderedDict
from dataclasses import dataclass

from agent.models.base import ChatRequest, ChatResult


@dataclass(frozen=True, slots=True)
class CacheSettings:
    ttl_s: float = 300.0
    max_entries: int = 1000


def cache_key(request: ChatRequest) -> str:
    shape = [
        request.route,
        request.max_tokens,
        request.temperature,
        [(m.role, m.content, m.tool_call_id, [(c.name, c.arguments) for c in m.tool_calls]) for m in request.messages],
        [(t.name, t.description, t.parameters) for t in request.tools],
    ]
    return hashlib.blake2b(json.dumps(shape, sort_keys=True, default=str).encode(), digest_size=20).hexdigest()


class ResponseCache:
    def __init__(self, settings: CacheSettings = CacheSettings()) -> None:
        self.settings = settings
        self._entries: OrderedDict[str, tuple[float, ChatResult]] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, request: ChatRequest) -> ChatResult | None:
        key = cache_key(request)
        entry = self._entries.get(key)
        if entry is None or entry[0] < time.monotonic():
            if entry is not None:
                del self._entries[key]
            self.misses += 1
            return None
        self._entries.move_to_end(key)
        self.hits += 1
        return entry[1]

    def put(self, request: ChatRequest, result: ChatResult) -> None:
        key = cache_key(request)
        self._entries[key] = (time.monotonic() + self.settings.ttl_s, result)
        self._entries.move_to_end(key)
        while len(self._entries) > self.settings.max_entries:
            self._entries.popitem(last=False)

    def snapshot(self) -> dict[str, float]:
        total = self.hits + self.misses
        return {
            "entries": len(self._entries),
            "hits": self.hits,
            "misses": self.misses,
            "hit_rate": round(self.hits / total, 4) if total else 0.0,
        }

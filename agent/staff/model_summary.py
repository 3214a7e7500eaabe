"""Handoff summaries written by a model, when one is configured; the extractive one stays the fallback.

A summary is asked for once per escalation and transcript: staff reopening the same view hit a
small in-memory cache, and a model that fails or is slow costs one bounded wait, not an error.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence

import structlog

from agent.contracts import MessageView
from agent.staff.summary import summary_prompt

log = structlog.get_logger(__name__)

Ask = Callable[[str], Awaitable[str | None]]


class ModelSummarizer:
    def __init__(self, ask: Ask, timeout_s: float = 8.0, max_chars: int = 800, cache_size: int = 512) -> None:
        self.ask = ask
        self.timeout_s = timeout_s
        self.max_chars = max_chars
        self.cache_size = cache_size
        self._cache: OrderedDict[tuple[int | None, int | None], str] = OrderedDict()

    async def summary(
        self,
        channel: str,
        reason: str | None,
        detail: str | None,
        messages: Sequence[MessageView],
        escalation_id: int | None,
        customer: str | None = None,
    ) -> str | None:
        """The model's summary of the conversation so far, or None (then the caller keeps the extractive one)."""
        key = (escalation_id, messages[-1].id if messages else None)
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        prompt = summary_prompt(channel, reason, detail, [(m.role.value, m.text) for m in messages], customer=customer)
        try:
            async with asyncio.timeout(self.timeout_s):
                text = await self.ask(prompt)
        except TimeoutError:
            log.warning("summary_model_timeout", timeout_s=self.timeout_s)
            return None
        except Exception:  # noqa: BLE001 - staff still get the extractive summary, never an error page
            log.exception("summary_model_failed")
            return None
        text = " ".join((text or "").split())
        if not text:
            return None
        text = text if len(text) <= self.max_chars else text[: self.max_chars - 1].rstrip() + "…"
        self._cache[key] = text
        if len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        return text

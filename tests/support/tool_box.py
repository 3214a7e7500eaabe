"""A `ToolBox` built the way the server builds it (`build_toolbox`, a real httpx client) from tool
declarations, and a turn's `ToolContext` for it."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from itertools import count
from typing import Any

import httpx

from agent.app.tools import build_toolbox
from agent.models import ToolCall
from agent.settings import Settings, load_settings
from agent.tools import ToolBox, ToolContext

_ids = count(1)


def shipped_tools(base_url: str) -> dict[str, dict[str, Any]]:
    """The shipped config's tools, with `base_url` where the demo store's URL would be."""
    tools = load_settings().tools
    return {name: {**t.model_dump(), "url": (t.url or "").replace("${DEMO_STORE_URL}", base_url)} for name, t in tools.items()}


def tool_settings(tools: dict[str, dict[str, Any]], **overrides: Any) -> Settings:
    """Settings declaring `tools` and nothing else that serves: no demo store, no routes' tools."""
    overrides.setdefault("demo_store", {"serve": False})
    return Settings(tools=tools, **overrides)


@asynccontextmanager
async def toolbox(tools: dict[str, dict[str, Any]], **overrides: Any) -> AsyncIterator[ToolBox]:
    async with httpx.AsyncClient() as client:
        yield build_toolbox(tool_settings(tools, **overrides), client, None)


def context(*allowed: str, customer: str | None = None, words: str = "", route: str = "support") -> ToolContext:
    return ToolContext(
        conversation_id="c-tools",
        channel="web",
        channel_user_id="visitor-1",
        route=route,
        allowed=frozenset(allowed),
        customer=customer,
        customer_words=words,
    )


def call(name: str, arguments: dict[str, Any] | str) -> ToolCall:
    """A model's call; `arguments` as JSON text when given as text (a model may write anything)."""
    text = arguments if isinstance(arguments, str) else json.dumps(arguments)
    return ToolCall(f"call-{next(_ids)}", name, text)

"""Typed application keys: what request handlers read from the application, declared once."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from agent.models import Gateway
    from agent.store import ConversationStore
    from agent.tools import ToolBox

STORE: web.AppKey["ConversationStore"] = web.AppKey("STORE")
GATEWAY: web.AppKey["Gateway"] = web.AppKey("GATEWAY")
TOOLS: web.AppKey["ToolBox"] = web.AppKey("TOOLS")

"""Typed application keys: everything the server holds, declared once."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from agent.conversation import ConversationManager
    from agent.settings import Settings
    from agent.store import Store

SETTINGS: web.AppKey["Settings"] = web.AppKey("SETTINGS")
STORE: web.AppKey["Store"] = web.AppKey("STORE")
MANAGER: web.AppKey["ConversationManager"] = web.AppKey("MANAGER")

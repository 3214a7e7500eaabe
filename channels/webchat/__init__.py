"""The web chat channel: an HTTP API, a WebSocket for live messages, and the chat page."""

from channels.webchat.routes import ChatLimits, WebChat, WidgetInfo
from channels.webchat.tokens import TokenSigner

__all__ = ["ChatLimits", "TokenSigner", "WebChat", "WidgetInfo"]

"""What every channel shares: the JSON error shape and the outbound interface."""

from __future__ import annotations

from typing import Protocol

from agent.contracts import MessageView


class OutboundChannel(Protocol):
    """Delivers a message to a customer on one channel (staff replies, async answers)."""

    name: str

    async def send_text(self, conversation_key: str, message: MessageView) -> None: ...

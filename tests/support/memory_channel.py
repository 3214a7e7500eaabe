"""A collecting outbound channel: keeps what the outbox sends, failing on cue first."""

from __future__ import annotations

import asyncio

from agent.contracts import OutboundMessage


class MemoryChannel:
    def __init__(self, name: str = "memo", failures: list[BaseException] | None = None) -> None:
        self.name = name
        self.failures = list(failures or [])
        self.sent: list[OutboundMessage] = []
        self.delivered = asyncio.Event()

    async def send(self, message: OutboundMessage) -> str | None:
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append(message)
        self.delivered.set()
        return f"{self.name}-{len(self.sent)}"

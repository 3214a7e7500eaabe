"""Live conversation events (new messages, typing, state) for channels that push them."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import Protocol

from agent.contracts import ConversationEvent, EventStream

# A subscriber this far behind is dropped rather than letting memory grow without bound;
# it reconnects and fills the gap from history.
QUEUE_LIMIT = 256


class EventBus(Protocol):
    async def publish(self, event: ConversationEvent) -> None: ...

    def subscribe(self, conversation_id: str, local_only: bool = False) -> EventStream:
        """Events of one topic from now on; `local_only`: only those published by this process
        (for side effects such as a webhook, which one process must do once, not every process)."""
        ...


class SubscriberTooSlow(Exception):
    pass


class Subscription:
    """Registered the moment it is created, so nothing published after that is missed."""

    def __init__(self, bus: "InProcessEventBus", conversation_id: str) -> None:
        self._bus = bus
        self.conversation_id = conversation_id
        self.queue: asyncio.Queue[ConversationEvent | None] = asyncio.Queue(QUEUE_LIMIT)
        bus._queues[conversation_id].add(self.queue)

    def __aiter__(self) -> "Subscription":
        return self

    async def __anext__(self) -> ConversationEvent:
        event = await self.queue.get()
        if event is None:
            raise SubscriberTooSlow(self.conversation_id)
        return event

    async def aclose(self) -> None:
        subscribers = self._bus._queues.get(self.conversation_id)
        if subscribers is not None:
            subscribers.discard(self.queue)
            if not subscribers:
                del self._bus._queues[self.conversation_id]


class InProcessEventBus:
    def __init__(self) -> None:
        self._queues: dict[str, set[asyncio.Queue[ConversationEvent | None]]] = defaultdict(set)

    async def publish(self, event: ConversationEvent) -> None:
        for queue in list(self._queues.get(event.conversation_id, ())):
            try:
                queue.put_nowait(event)
            except asyncio.QueueFull:
                queue.get_nowait()
                queue.put_nowait(None)  # tells the subscriber it lost events

    def subscribe(self, conversation_id: str, local_only: bool = False) -> Subscription:
        # One process: every event is local.
        return Subscription(self, conversation_id)

    def drop_all(self) -> None:
        """Tell every subscriber it may have missed events (they reconnect and refill from history)."""
        for queues in list(self._queues.values()):
            for queue in list(queues):
                while True:
                    try:
                        queue.put_nowait(None)
                        break
                    except asyncio.QueueFull:
                        queue.get_nowait()

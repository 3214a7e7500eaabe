"""Live events across server processes: Redis pub/sub in front of the in-process fan-out.

Each process publishes to Redis and delivers its own events locally at once; a listener relays
other processes' events to local subscribers, decoded back to the same views (`agent.live.codec`).
Pub/sub keeps nothing, so when the connection to Redis drops, every local subscriber is told it
may have missed events (its socket closes and the client refills from history) while the
listener reconnects.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError

from agent.contracts import ConversationEvent
from agent.live import codec
from agent.live.events import InProcessEventBus, Subscription
from agent.tasks import BackgroundTasks

log = structlog.get_logger(__name__)


class RedisEventBus:
    def __init__(self, client: Redis, prefix: str = "switchboard") -> None:
        self.client = client
        self.channel_prefix = f"{prefix}:events:"
        self.origin = uuid.uuid4().hex
        self._everything = InProcessEventBus()  # this process's events and the others'
        self._local = InProcessEventBus()  # this process's only
        self._tasks = BackgroundTasks("redis_events")
        self._listening = asyncio.Event()

    async def publish(self, event: ConversationEvent) -> None:
        await self._everything.publish(event)
        await self._local.publish(event)
        payload = {"origin": self.origin, **codec.encode(event)}
        try:
            await self.client.publish(self.channel_prefix + event.conversation_id, json.dumps(payload))
        except RedisError:
            # The message itself is stored; other processes' live views catch up from history.
            log.warning("event_not_relayed", topic=event.conversation_id, exc_info=True)

    def subscribe(self, conversation_id: str, local_only: bool = False) -> Subscription:
        return (self._local if local_only else self._everything).subscribe(conversation_id)

    async def start(self) -> None:
        """Listen for other processes' events; returns once subscribed (or on the first failure, retrying behind)."""
        self._tasks.spawn(self._listen(), "redis_events_listener")
        await self._listening.wait()

    async def close(self) -> None:
        await self._tasks.close()

    async def _listen(self) -> None:
        delay = 0.1
        while True:
            pubsub = self.client.pubsub()
            try:
                await pubsub.psubscribe(self.channel_prefix + "*")
                self._listening.set()
                delay = 0.1
                async for message in pubsub.listen():
                    if message.get("type") == "pmessage":
                        await self._relay(message["data"])
            except (RedisError, OSError):
                log.warning("event_listener_lost", retry_in_s=delay, exc_info=True)
            finally:
                self._listening.set()  # start-up must not hang on an unreachable Redis
                try:
                    await pubsub.aclose()
                except (RedisError, OSError):
                    pass
            # Whatever was published while we were not listening is gone: make live views resync.
            self._everything.drop_all()
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)

    async def _relay(self, raw: bytes | str) -> None:
        try:
            payload: dict[str, Any] = json.loads(raw)
            if payload["origin"] == self.origin:
                return
            event = codec.decode(payload)
        except (ValueError, KeyError, TypeError):
            log.warning("event_unreadable")
            return
        await self._everything.publish(event)

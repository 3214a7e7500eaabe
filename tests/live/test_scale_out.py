"""Several server processes on one PostgreSQL database and one Redis: live events, turn order, one webhook."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
import pytest
from aiohttp import web
from redis.asyncio import Redis

from agent.contracts import ConversationEvent
from agent.live.events import SubscriberTooSlow
from agent.live.redis_events import RedisEventBus
from agent.live.redis_locks import RedisLocks
from agent.settings import Settings
from tests.conftest import SettingsFactory
from tests.support.client import new_visitor
from tests.support.server import running_app, running_server
from tests.support.services import fresh_postgres_database, redis_url
from tests.support.staff import add_staff, staff_client


@dataclass
class Cluster:
    settings: Settings
    redis: str
    prefix: str


@pytest.fixture
async def cluster(make_settings: SettingsFactory) -> AsyncIterator[Cluster]:
    url = await redis_url()
    prefix = f"test-{uuid.uuid4().hex[:8]}"
    async with fresh_postgres_database() as database_url:
        # One visitor-token key for every process, as a deployment with Redis must have.
        settings = make_settings(
            database={"url": database_url}, redis={"url": url, "prefix": prefix}, secret_key=f"key-{prefix}"
        )
        yield Cluster(settings, url, prefix)


async def next_json(socket: aiohttp.ClientWebSocketResponse, wanted_type: str) -> dict:
    async with asyncio.timeout(5):
        while True:
            event = await socket.receive_json()
            if event.get("type") == wanted_type:
                return event


async def test_a_staff_reply_through_one_process_reaches_a_chat_open_on_another(cluster: Cluster) -> None:
    settings = cluster.settings
    async with running_server(settings) as (first, _a), running_server(settings) as (second, _b):
        await add_staff(settings, "alice", "Alice Ng")
        async with aiohttp.ClientSession() as http, staff_client(second, "alice") as alice:
            console = await alice.session.ws_connect(f"{second}/api/staff/ws")
            visitor = await new_visitor(http, first)
            chat = await http.ws_connect(f"{first}/api/conversations/{visitor.conversation_id}/ws?token={visitor.token}")
            assert (await visitor.send("can I talk to a human please"))["state"] == "waiting"
            # The escalation made by the first process shows on the console served by the second.
            escalation = await next_json(console, "escalation")
            assert escalation["conversation_id"] == visitor.conversation_id

            assert (await alice.act(visitor.conversation_id, "claim"))[0] == 200
            assert (await alice.act(visitor.conversation_id, "reply", text="Alice here, from the other server."))[0] == 200
            while True:
                event = await next_json(chat, "message")
                if event["message"]["role"] == "staff":
                    break
            assert event["message"]["text"] == "Alice here, from the other server."
            await chat.close()
            await console.close()


async def test_each_escalation_posts_one_webhook_however_many_processes(
    cluster: Cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    received: list[str] = []

    async def receive(request: web.Request) -> web.Response:
        received.append((await request.json())["conversation_id"])
        return web.Response(status=200)

    receiver = web.Application()
    receiver.router.add_post("/hook", receive)
    monkeypatch.setenv("SWITCHBOARD_WEBHOOK_SECRET", "s3cret")
    async with running_app(receiver) as receiver_url:
        settings = cluster.settings.model_copy(
            update={"escalation": cluster.settings.escalation.model_copy(update={"webhook_url": f"{receiver_url}/hook"})}
        )
        async with running_server(settings) as (first, _a), running_server(settings) as (_second, _b):
            async with aiohttp.ClientSession() as http:
                visitor = await new_visitor(http, first)
                await visitor.send("can I talk to a human please")
                async with asyncio.timeout(5):
                    while not received:
                        await asyncio.sleep(0.05)
                await asyncio.sleep(0.5)  # time for a second, wrong, delivery to arrive
    assert received == [visitor.conversation_id]


async def test_one_conversation_runs_one_turn_at_a_time_across_processes() -> None:
    url = await redis_url()
    prefix = f"test-{uuid.uuid4().hex[:8]}"
    first_client, second_client = Redis.from_url(url), Redis.from_url(url)
    # A lease shorter than the hold: only renewal keeps the other process out.
    first, second = RedisLocks(first_client, prefix, lease_s=0.3), RedisLocks(second_client, prefix, lease_s=0.3)
    order: list[str] = []

    async def turn(locks: RedisLocks, name: str, hold_s: float) -> None:
        async with locks.hold("conversation-1"):
            order.append(f"{name} in")
            await asyncio.sleep(hold_s)
            order.append(f"{name} out")

    await first.start()
    await second.start()
    try:
        started = asyncio.create_task(turn(first, "a", 1.0))
        await asyncio.sleep(0.1)
        await asyncio.gather(turn(second, "b", 0.0), turn(second, "c", 0.0), started)
        async with first.hold("conversation-2"), second.hold("conversation-3"):
            pass  # other conversations are not held up
    finally:
        await first.close()
        await second.close()
        await first_client.aclose()
        await second_client.aclose()
    assert order[:2] == ["a in", "a out"]
    assert sorted(order[2:]) == ["b in", "b out", "c in", "c out"]
    assert order[2][0] == order[3][0]  # b and c did not overlap either


async def test_a_lost_redis_connection_tells_live_views_to_resync_then_events_flow_again() -> None:
    url = await redis_url()
    prefix = f"test-{uuid.uuid4().hex[:8]}"
    # Named, so that only this listener's connection is cut, not other clients of the same Redis.
    listener_client = Redis.from_url(url, client_name=f"{prefix}-listener")
    publisher_client, admin = Redis.from_url(url), Redis.from_url(url)
    listener, publisher = RedisEventBus(listener_client, prefix), RedisEventBus(publisher_client, prefix)
    await listener.start()
    try:
        before = listener.subscribe("conv-1")
        await publisher.publish(ConversationEvent("message", "conv-1", {"n": 1}))
        assert (await asyncio.wait_for(before.__anext__(), 5)).data == {"n": 1}

        ours = [c["id"] for c in await admin.client_list(_type="pubsub") if c["name"] == f"{prefix}-listener"]
        assert ours
        for client_id in ours:
            await admin.client_kill_filter(_id=client_id)
        with pytest.raises(SubscriberTooSlow):
            await asyncio.wait_for(before.__anext__(), 5)
        await before.aclose()

        after = listener.subscribe("conv-1")
        async with asyncio.timeout(5):
            while True:  # the listener is back once a published event arrives
                await publisher.publish(ConversationEvent("message", "conv-1", {"n": 2}))
                try:
                    event = await asyncio.wait_for(after.__anext__(), 0.2)
                    break
                except asyncio.TimeoutError:
                    continue
        assert event.data == {"n": 2}
        await after.aclose()
    finally:
        await listener.close()
        for client in (listener_client, publisher_client, admin):
            await client.aclose()

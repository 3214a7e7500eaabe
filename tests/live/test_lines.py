"""The conversation line on its own: in memory, and in Redis shared by two "processes"."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from agent.live.locks import ConversationLocks, InProcessLocks
from agent.live.redis_locks import RedisLocks
from tests.support.services import redis_url


@pytest.fixture(params=["memory", "redis"])
async def two(request: pytest.FixtureRequest) -> AsyncIterator[tuple[ConversationLocks, ConversationLocks]]:
    """Two handles on one set of lines: one object in memory, two processes' worth in Redis."""
    if request.param == "memory":
        locks = InProcessLocks()
        yield locks, locks
        return
    url = await redis_url()
    prefix = f"test-{uuid.uuid4().hex[:8]}"
    clients = [Redis.from_url(url), Redis.from_url(url)]
    lines = [RedisLocks(client, prefix, lease_s=0.5) for client in clients]
    for line in lines:
        await line.start()
    try:
        yield lines[0], lines[1]
    finally:
        for line in lines:
            await line.close()
        for client in clients:
            await client.aclose()


async def test_a_save_still_in_flight_holds_back_a_later_message_that_queued_first(
    two: tuple[ConversationLocks, ConversationLocks],
) -> None:
    first, second = two
    early = await first.arrive("c1")  # its save began first and will get id 10 ...
    late = await second.arrive("c1")
    await late.queue(11)  # ... but the later save finished (and queued) before it
    order: list[str] = []

    async def run(place, name: str) -> None:  # type: ignore[no-untyped-def]
        await place.reached()
        order.append(name)
        await place.leave()

    waiting = asyncio.create_task(run(late, "11"))
    await asyncio.sleep(0.1)  # long enough for a line that ignores saves in flight to let 11 go first
    await early.queue(10)
    await asyncio.wait_for(asyncio.gather(run(early, "10"), waiting), 5)
    assert order == ["10", "11"]


async def test_work_without_a_message_runs_after_the_line_and_arrivals_after_it_do_not_wait(
    two: tuple[ConversationLocks, ConversationLocks],
) -> None:
    first, second = two
    turn = await first.arrive("c2")
    await turn.queue(5)
    await turn.reached()
    order: list[str] = []

    async def staff_action() -> None:
        async with second.hold("c2"):
            order.append("staff")

    staff = asyncio.create_task(staff_action())
    other = await second.arrive("c3")  # another conversation's line is its own
    await other.queue(1)
    await asyncio.wait_for(other.reached(), 5)
    await other.leave()
    order.append("turn")
    await turn.leave()
    await asyncio.wait_for(staff, 5)
    assert order == ["turn", "staff"]


async def test_a_process_that_dies_in_line_frees_it_when_its_lease_runs_out() -> None:
    url = await redis_url()
    prefix = f"test-{uuid.uuid4().hex[:8]}"
    clients = [Redis.from_url(url), Redis.from_url(url)]
    dying, living = RedisLocks(clients[0], prefix, lease_s=0.5), RedisLocks(clients[1], prefix, lease_s=0.5)
    await dying.start()
    await living.start()
    try:
        held = await dying.arrive("c4")
        await held.queue(1)
        await held.reached()
        saving = await dying.arrive("c4")  # and one message it never finished storing
        await dying.close()  # no more renewals, no leave: as after kill -9
        del held, saving
        place = await living.arrive("c4")
        await place.queue(2)
        await asyncio.wait_for(place.reached(), 5)  # the leases ran out; nobody told it
        await place.leave()
    finally:
        await living.close()
        for client in clients:
            await client.aclose()

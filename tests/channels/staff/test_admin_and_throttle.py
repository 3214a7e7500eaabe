"""Admins take over held conversations; repeated failed sign-ins are paused."""

from __future__ import annotations

import asyncio

import aiohttp

from agent.contracts import StaffRole
from agent.live.limits import InMemoryRateLimiter
from channels.http import client_address
from channels.staff.throttle import LoginThrottle
from tests.conftest import SettingsFactory
from tests.support.client import new_visitor
from tests.support.server import running_server
from tests.support.services import cluster_settings
from tests.support.staff import PASSWORD, add_staff, staff_client


async def login_status(base_url: str, username: str, password: str) -> tuple[int, dict, str | None]:
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{base_url}/api/staff/login", json={"username": username, "password": password}) as r:
            return r.status, await r.json(), r.headers.get("Retry-After")


async def test_failed_sign_ins_pause_that_username_for_the_window(make_settings: SettingsFactory) -> None:
    settings = make_settings(staff={"login_attempts": 2, "login_window_s": 1.0})
    async with running_server(settings) as (base_url, _app):
        await add_staff(settings, "alice", "Alice Ng")
        await add_staff(settings, "bob", "Bob Ray")
        assert (await login_status(base_url, "alice", "wrong-one"))[0] == 401
        assert (await login_status(base_url, "alice", "wrong-two"))[0] == 401
        status, body, retry_after = await login_status(base_url, "alice", PASSWORD)  # right, but paused
        assert (status, body["error"]["code"], retry_after) == (429, "too_many_attempts", "1")
        assert (await login_status(base_url, "bob", PASSWORD))[0] == 200  # others are not locked out
        await asyncio.sleep(1.1)
        assert (await login_status(base_url, "alice", PASSWORD))[0] == 200


async def test_the_throttle_counts_per_username_and_per_address() -> None:
    now = [0.0]
    throttle = LoginThrottle(InMemoryRateLimiter(clock=lambda: now[0]), per_username=3, per_address=5, window_s=60)
    for name in ("a", "b", "c", "d", "e"):
        assert await throttle.retry_after(throttle.keys(name, "10.0.0.1")) is None
        await throttle.failed(throttle.keys(name, "10.0.0.1"))
    # Five different usernames from one address: the address is paused, another address is not.
    assert await throttle.retry_after(throttle.keys("f", "10.0.0.1")) == 60
    assert await throttle.retry_after(throttle.keys("f", "10.0.0.2")) is None
    now[0] = 30.0
    assert await throttle.retry_after(throttle.keys("f", "10.0.0.1")) == 30
    now[0] = 61.0
    assert await throttle.retry_after(throttle.keys("f", "10.0.0.1")) is None
    for _ in range(3):
        await throttle.failed(throttle.keys("Zed", "10.0.0.9"))
    assert await throttle.retry_after(throttle.keys("zed ", "10.0.0.8")) is not None  # usernames fold case
    await throttle.succeeded("zed")
    assert await throttle.retry_after(throttle.keys("zed", "10.0.0.8")) is None


async def test_an_admin_takes_over_a_conversation_someone_else_holds(make_settings: SettingsFactory) -> None:
    settings = make_settings()
    async with running_server(settings) as (base_url, _app), aiohttp.ClientSession() as http:
        await add_staff(settings, "alice", "Alice Ng")
        await add_staff(settings, "bob", "Bob Ray")
        await add_staff(settings, "carol", "Carol Lee", role=StaffRole.ADMIN)
        visitor = await new_visitor(http, base_url)
        assert (await visitor.send("can I talk to a human please"))["state"] == "waiting"
        conversation = visitor.conversation_id
        async with staff_client(base_url, "alice") as alice, staff_client(base_url, "bob") as bob, staff_client(
            base_url, "carol"
        ) as carol:
            assert (await alice.act(conversation, "claim"))[0] == 200
            status, body = await bob.act(conversation, "take-over")
            assert (status, body["error"]["code"]) == (403, "admins_only")
            assert (await carol.act(conversation, "take-over")) == (200, {"state": "with_human"})
            detail = await carol.detail(conversation)
            assert detail["escalation"]["claimed_by"]["username"] == "carol"
            status, body = await alice.act(conversation, "reply", text="still me?")
            assert (status, body["error"]["code"]) == (403, "held_by_other")
            assert (await carol.act(conversation, "reply", text="Carol here, I'll finish this."))[0] == 200
        texts = [m["text"] for m in (await visitor.history())["messages"]]
        assert texts[-1] == "Carol here, I'll finish this." and "still me?" not in texts


async def test_with_redis_failed_sign_ins_on_any_process_count_together(make_settings: SettingsFactory) -> None:
    async with cluster_settings(make_settings, staff={"login_attempts": 2}) as settings:
        async with running_server(settings) as (first, _a), running_server(settings) as (second, _b):
            await add_staff(settings, "alice", "Alice Ng")
            assert (await login_status(first, "alice", "wrong-one"))[0] == 401
            assert (await login_status(second, "alice", "wrong-two"))[0] == 401
            for base_url in (first, second):
                status, body, retry_after = await login_status(base_url, "alice", PASSWORD)
                assert (status, body["error"]["code"]) == (429, "too_many_attempts") and retry_after


def test_the_client_address_is_read_through_trusted_proxies_only() -> None:
    proxies = ["10.0.0.0/8", "127.0.0.1"]
    assert client_address("10.1.2.3", "203.0.113.9", proxies) == "203.0.113.9"
    # Whatever the client itself put in front is never reached: the last untrusted hop wins.
    assert client_address("10.1.2.3", "1.1.1.1, 203.0.113.9, 10.9.9.9", proxies) == "203.0.113.9"
    assert client_address("198.51.100.7", "1.1.1.1", proxies) == "198.51.100.7"  # not a proxy of ours
    assert client_address("10.1.2.3", None, proxies) == "10.1.2.3"


async def test_behind_a_trusted_proxy_one_address_is_paused_not_everyone(make_settings: SettingsFactory) -> None:
    settings = make_settings(staff={"login_attempts": 1}, server={"trusted_proxies": ["127.0.0.1/32"]})
    async with running_server(settings) as (base_url, _app):
        await add_staff(settings, "alice", "Alice Ng")
        await add_staff(settings, "bob", "Bob Ray")

        async def login(username: str, password: str, client: str) -> int:
            async with aiohttp.ClientSession() as http:
                async with http.post(
                    f"{base_url}/api/staff/login",
                    json={"username": username, "password": password},
                    headers={"X-Forwarded-For": client},
                ) as response:
                    return response.status

        for name in ("u1", "u2", "u3", "u4"):  # four failures (4 x login_attempts) from one address
            assert await login(name, "guess", "198.51.100.66") == 401
        assert await login("bob", PASSWORD, "198.51.100.66") == 429
        assert await login("alice", PASSWORD, "203.0.113.10") == 200


async def test_sign_ins_hash_passwords_off_the_event_loop(make_settings: SettingsFactory) -> None:
    # Argon2 costs tens of milliseconds of CPU a check, by design. Run on the event loop, ten
    # sign-ins at once would hold every other request until the last was checked.
    settings = make_settings(staff={"login_attempts": 100})
    async with running_server(settings) as (base_url, _app), aiohttp.ClientSession() as http:
        await add_staff(settings, "alice", "Alice Ng")
        order: list[str] = []

        async def sign_in() -> None:
            async with http.post(f"{base_url}/api/staff/login", json={"username": "alice", "password": "wrong-password"}) as r:
                assert r.status == 401
            order.append("sign-in")

        async def health() -> None:
            async with http.get(f"{base_url}/healthz") as r:
                assert r.status == 200
            order.append("healthz")

        await login_status(base_url, "alice", "warm-up-guess")  # the first check pays for loading
        sign_ins = [asyncio.create_task(sign_in()) for _ in range(10)]
        await asyncio.sleep(0)  # the sign-ins are sent first
        await asyncio.gather(health(), *sign_ins)
        # On the loop, health waited for all ten; off it, it comes back while they are checked.
        assert order.index("healthz") < 5, order

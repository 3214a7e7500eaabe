"""Limits on one client: new conversations and messages per window answered 429 with
Retry-After (shared by every process through Redis), and a cap on open sockets."""

from __future__ import annotations


import aiohttp
from aiohttp import WSMsgType

from tests.conftest import SettingsFactory
from tests.support.client import new_visitor
from tests.support.server import running_server
from tests.support.services import cluster_settings


async def post_conversation(http: aiohttp.ClientSession, base_url: str, client: str | None = None) -> tuple[int, dict, str | None]:
    headers = {"X-Forwarded-For": client} if client else {}
    async with http.post(f"{base_url}/api/conversations", headers=headers) as response:
        return response.status, await response.json(), response.headers.get("Retry-After")


async def test_new_conversations_per_address_are_limited(make_settings: SettingsFactory) -> None:
    settings = make_settings(
        rate_limits={"conversations_per_address": 3, "window_s": 60}, server={"trusted_proxies": ["127.0.0.1/32"]}
    )
    async with running_server(settings) as (base_url, _app), aiohttp.ClientSession() as http:
        for _ in range(3):
            assert (await post_conversation(http, base_url, "198.51.100.7"))[0] == 201
        status, body, retry_after = await post_conversation(http, base_url, "198.51.100.7")
        assert (status, body["error"]["code"]) == (429, "rate_limited")
        assert retry_after is not None and 1 <= int(retry_after) <= 60
        assert f"Try again in {retry_after} s." in body["error"]["message"]
        # Another address behind the same proxy is not held up.
        assert (await post_conversation(http, base_url, "203.0.113.9"))[0] == 201


async def test_messages_are_limited_per_conversation_and_per_address(make_settings: SettingsFactory) -> None:
    settings = make_settings(rate_limits={"messages_per_conversation": 2, "messages_per_address": 3})
    async with running_server(settings) as (base_url, _app), aiohttp.ClientSession() as http:
        first = await new_visitor(http, base_url)
        await first.send("hello")
        await first.send("what is your return policy")
        async with http.post(f"{first.url}/messages", json={"text": "and again"}, headers=first.headers) as response:
            assert response.status == 429 and response.headers["Retry-After"]
            assert (await response.json())["error"]["code"] == "rate_limited"
        second = await new_visitor(http, base_url)
        await second.send("hello")  # the address's third message
        async with http.post(f"{second.url}/messages", json={"text": "hi"}, headers=second.headers) as response:
            assert response.status == 429  # the address's budget is spent, whatever the conversation
        texts = [m["text"] for m in (await first.history())["messages"]]
        assert "and again" not in texts  # nothing stored for a refused message


async def test_with_rate_limits_off_one_address_creates_many_conversations(make_settings: SettingsFactory) -> None:
    settings = make_settings(rate_limits={"enabled": False, "conversations_per_address": 1})
    async with running_server(settings) as (base_url, _app), aiohttp.ClientSession() as http:
        for _ in range(5):
            assert (await post_conversation(http, base_url))[0] == 201


async def test_several_processes_count_against_one_limit_through_redis(make_settings: SettingsFactory) -> None:
    async with cluster_settings(make_settings, rate_limits={"conversations_per_address": 4}) as settings:
        async with running_server(settings) as (first, _a), running_server(settings) as (second, _b):
            async with aiohttp.ClientSession() as http:
                for base_url in (first, second, first, second):
                    assert (await post_conversation(http, base_url))[0] == 201
                assert (await post_conversation(http, first))[0] == 429
                assert (await post_conversation(http, second))[0] == 429


async def test_open_sockets_are_capped_per_address_and_per_process(make_settings: SettingsFactory) -> None:
    settings = make_settings(
        server={"max_sockets_per_address": 2, "max_sockets": 3, "trusted_proxies": ["127.0.0.1/32"]}
    )
    async with running_server(settings) as (base_url, _app), aiohttp.ClientSession() as http:
        visitor = await new_visitor(http, base_url)
        ws_url = f"{visitor.url}/ws?token={visitor.token}"

        async def connect(client: str) -> aiohttp.ClientWebSocketResponse:
            return await http.ws_connect(ws_url, headers={"X-Forwarded-For": client})

        async def assert_open(socket: aiohttp.ClientWebSocketResponse) -> None:
            await socket.send_json({"type": "ping"})
            assert (await socket.receive_json(timeout=5)) == {"type": "pong"}

        async def assert_refused(socket: aiohttp.ClientWebSocketResponse, reason: str) -> None:
            frame = await socket.receive(timeout=5)
            assert frame.type == WSMsgType.CLOSE
            assert (socket.close_code, frame.extra) == (1013, reason)

        a1, a2 = await connect("198.51.100.1"), await connect("198.51.100.1")
        for socket in (a1, a2):
            await assert_open(socket)
        await assert_refused(await connect("198.51.100.1"), "too many open sockets from your address")
        b1 = await connect("198.51.100.2")
        await assert_open(b1)
        await assert_refused(await connect("198.51.100.3"), "server busy: too many open sockets")
        # A closed socket gives its place back.
        await a1.close()
        a3 = await connect("198.51.100.1")
        await assert_open(a3)
        for socket in (a2, b1, a3):
            await socket.close()

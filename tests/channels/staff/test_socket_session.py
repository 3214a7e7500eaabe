"""An open staff socket lives no longer than its sign-in: logout, expiry, or a logout elsewhere."""

from __future__ import annotations

import asyncio

import aiohttp

from tests.conftest import SettingsFactory
from tests.support.server import running_server
from tests.support.staff import add_staff, staff_client

SESSION_ENDED = 4401


async def closed_code(socket: aiohttp.ClientWebSocketResponse, within_s: float) -> int | None:
    async with asyncio.timeout(within_s):
        while True:
            frame = await socket.receive()
            if frame.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING):
                return socket.close_code


async def test_logout_closes_the_open_socket(make_settings: SettingsFactory) -> None:
    settings = make_settings()
    async with running_server(settings) as (base_url, _app):
        await add_staff(settings, "alice", "Alice Ng")
        async with staff_client(base_url, "alice") as alice, staff_client(base_url, "alice") as other_tab:
            socket = await alice.session.ws_connect(f"{base_url}/api/staff/ws")
            kept = await other_tab.session.ws_connect(f"{base_url}/api/staff/ws")
            assert (await alice.call("POST", "/api/staff/logout"))[0] == 200
            assert await closed_code(socket, 5) == SESSION_ENDED
            # Another sign-in of the same person is its own session and stays open.
            await kept.send_json({"type": "ping"})
            assert (await kept.receive_json(timeout=5)) == {"type": "pong"}
            await kept.close()


async def test_an_expired_session_closes_its_socket(make_settings: SettingsFactory) -> None:
    settings = make_settings(staff={"session_hours": 1 / 3600})  # one second
    async with running_server(settings) as (base_url, _app):
        await add_staff(settings, "alice", "Alice Ng")
        async with staff_client(base_url, "alice") as alice:
            socket = await alice.session.ws_connect(f"{base_url}/api/staff/ws")
            assert await closed_code(socket, 5) == SESSION_ENDED


async def test_a_logout_through_another_server_process_closes_the_socket(make_settings: SettingsFactory) -> None:
    settings = make_settings(staff={"session_recheck_s": 0.2})
    async with running_server(settings) as (first_url, _a), running_server(settings) as (second_url, _b):
        await add_staff(settings, "alice", "Alice Ng")
        async with staff_client(first_url, "alice") as alice:
            socket = await alice.session.ws_connect(f"{first_url}/api/staff/ws")
            # The same cookie, sent to the second server: it shares only the database.
            alice.base_url = second_url
            assert (await alice.call("POST", "/api/staff/logout"))[0] == 200
            assert await closed_code(socket, 5) == SESSION_ENDED

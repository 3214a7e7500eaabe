"""HTTP plumbing every channel shares: a request body that trickles in is cut off; refusals are one JSON shape."""

from __future__ import annotations

import asyncio
import contextlib
import json
from urllib.parse import urlsplit

import aiohttp

from channels.http import ApiError, json_error
from tests.conftest import SettingsFactory
from tests.support.server import running_server


async def test_a_body_that_trickles_in_is_answered_408_and_the_connection_closed(make_settings: SettingsFactory) -> None:
    settings = make_settings(server={"body_timeout_s": 1})
    async with running_server(settings) as (base_url, _app):
        address = urlsplit(base_url)
        reader, writer = await asyncio.open_connection(address.hostname, address.port)
        body = json.dumps({"username": "alice", "password": "x" * 200}).encode()
        writer.write(
            b"POST /api/staff/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
        )
        sent = 0

        async def trickle() -> None:
            nonlocal sent
            for byte in body:
                writer.write(bytes([byte]))
                await writer.drain()
                sent += 1
                await asyncio.sleep(0.2)

        trickling = asyncio.create_task(trickle())
        try:
            async with asyncio.timeout(15):
                answer = await reader.read()  # until the server closes the connection
        finally:
            trickling.cancel()
            with contextlib.suppress(asyncio.CancelledError, ConnectionError):
                await trickling
            writer.close()
        assert sent < len(body)  # cut off while the body was still arriving
        head, _, payload = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 408")
        assert json.loads(payload)["error"]["code"] == "request_timeout"
        # The server goes on serving everyone else.
        async with aiohttp.ClientSession() as http, http.get(f"{base_url}/healthz") as response:
            assert response.status == 200


def test_a_refusal_is_answered_as_the_one_json_error_body() -> None:
    refusal = ApiError(429, "too_many_requests", "Slow down.", {"Retry-After": "3"})
    response = refusal.response()
    assert (response.status, response.headers["Retry-After"]) == (429, "3")
    assert response.body == b'{"error": {"code": "too_many_requests", "message": "Slow down."}}'
    assert response.body == json_error(429, "too_many_requests", "Slow down.").body
    assert str(refusal) == "Slow down."

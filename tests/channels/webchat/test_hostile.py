"""Hostile input to the web chat API, on SQLite and PostgreSQL: a 4xx or the message stored cleaned, never a 500.

Each refusal logs one line (request_refused) and no traceback.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from tests.conftest import SettingsFactory
from tests.support.client import Visitor, new_visitor, raw_request
from tests.support.logs import captured, refused
from tests.support.server import running_server

DEEP = b'{"text": ' + b"[" * 30_000 + b"]" * 30_000 + b"}"
INVISIBLE = ["\u200b", "\u200b\u200c\u200d\u2060\ufeff", " \u00ad\u200e\u2063 ", "\u3164\u115f", "\ufe0f\u034f", "\x00\x00"]


@pytest.fixture
async def visitor(make_settings: SettingsFactory, database_url: str) -> AsyncIterator[Visitor]:
    async with running_server(make_settings(database={"url": database_url})) as (base_url, _app):
        async with aiohttp.ClientSession() as session:
            yield await new_visitor(session, base_url)


async def post_raw(visitor: Visitor, payload: bytes) -> tuple[int, Any]:
    async with visitor.session.post(f"{visitor.url}/messages", data=payload, headers=visitor.headers) as response:
        return response.status, await response.json()


async def test_json_nested_30000_deep_is_invalid_json(visitor: Visitor, caplog: pytest.LogCaptureFixture) -> None:
    with captured(caplog) as events:
        status, body = await post_raw(visitor, DEEP)
    assert (status, body["error"]["code"]) == (400, "invalid_json")
    assert refused(events) == [(400, "invalid_json")]
    assert (await visitor.history())["messages"] == []


async def test_a_lone_surrogate_is_stored_as_the_replacement_character(visitor: Visitor, caplog: pytest.LogCaptureFixture) -> None:
    with captured(caplog):
        status, body = await post_raw(visitor, b'{"text": "where is my order \\ud800NW-10482?"}')
    assert status == 200, body
    assert body["message"]["text"] == "where is my order \ufffdNW-10482?"
    assert [m["text"] for m in (await visitor.history())["messages"]][0] == "where is my order \ufffdNW-10482?"


async def test_a_nul_is_dropped_and_the_message_kept(visitor: Visitor, caplog: pytest.LogCaptureFixture) -> None:
    with captured(caplog):
        status, body = await post_raw(visitor, b'{"text": "where is my\\u0000 order NW-10482?"}')
    assert status == 200, body
    assert "NW-10482" in body["reply"]["text"]
    assert (await visitor.history())["messages"][0]["text"] == "where is my order NW-10482?"


@pytest.mark.parametrize("text", INVISIBLE)
async def test_invisible_only_text_is_empty(visitor: Visitor, text: str, caplog: pytest.LogCaptureFixture) -> None:
    with captured(caplog) as events:
        status, body = await post_raw(visitor, json.dumps({"text": text}).encode())
    assert (status, body["error"]["code"]) == (400, "empty_text")
    assert refused(events) == [(400, "empty_text")]
    assert (await visitor.history())["messages"] == []


@pytest.mark.parametrize("after", [str(2**63), str(2**64), "9" * 30, "-1", "1_0", "\u0661", " 1"])
async def test_an_after_no_message_id_can_be_is_refused(visitor: Visitor, after: str, caplog: pytest.LogCaptureFixture) -> None:
    with captured(caplog) as events:
        async with visitor.session.get(f"{visitor.url}/messages", params={"after": after}, headers=visitor.headers) as r:
            assert r.status == 400, await r.text()
            assert (await r.json())["error"]["code"] == "invalid_after"
    assert refused(events) == [(400, "invalid_after")]


@pytest.mark.parametrize("after", [2**31, 2**63 - 1])
async def test_an_after_past_every_stored_id_is_an_empty_page(visitor: Visitor, after: int) -> None:
    await visitor.send("hello")
    assert (await visitor.history(after=after))["messages"] == []


async def test_a_token_with_non_ascii_characters_is_unauthorized(visitor: Visitor, caplog: pytest.LogCaptureFixture) -> None:
    url = f"{visitor.url}/messages"
    with captured(caplog) as events:
        async with visitor.session.get(url, params={"token": "tök\u00e9n"}) as response:
            assert response.status == 401
        async with visitor.session.get(url, headers={"Authorization": "Bearer tök\u00e9n"}) as response:
            assert response.status == 401
        path = url.removeprefix(visitor.base_url)
        status, body = await raw_request(visitor.base_url, f"GET {path} HTTP/1.1\r\nAuthorization: Bearer ".encode() + b"\xff\xfe\x80")
        assert (status, body["error"]["code"]) == (401, "unauthorized")
        async with visitor.session.get(f"{visitor.url}/ws", params={"token": "\u00e9"}) as response:
            assert response.status == 401
    assert refused(events) == [(401, "unauthorized")] * 4


async def test_a_path_with_a_nul_is_not_found(visitor: Visitor, caplog: pytest.LogCaptureFixture) -> None:
    with captured(caplog) as events:
        status, body = await raw_request(visitor.base_url, b"GET /api/conversations/%00/messages HTTP/1.1")
        assert (status, body["error"]["code"]) == (404, "not_found")
        # Undecodable bytes stay percent-encoded in the path: an id nobody holds a token for.
        status, body = await raw_request(visitor.base_url, b"GET /api/conversations/%ED%A0%80%FF/messages HTTP/1.1")
        assert (status, body["error"]["code"]) == (401, "unauthorized")
    assert refused(events) == [(404, "not_found"), (401, "unauthorized")]


async def test_a_deep_frame_on_the_socket_is_ignored(visitor: Visitor, caplog: pytest.LogCaptureFixture) -> None:
    with captured(caplog):
        async with visitor.session.ws_connect(f"{visitor.url}/ws?token={visitor.token}") as socket:
            await socket.send_str("[" * 30_000 + "]" * 30_000)
            await socket.send_json({"type": "ping"})
            assert (await socket.receive_json(timeout=5)) == {"type": "pong"}


@pytest.mark.parametrize("client_id", ["retry\\u0000-1", "retry\\ud800-1"])
async def test_a_client_message_id_no_database_stores_is_refused(
    visitor: Visitor, client_id: str, caplog: pytest.LogCaptureFixture
) -> None:
    with captured(caplog) as events:
        status, body = await post_raw(visitor, f'{{"text": "hello", "client_message_id": "{client_id}"}}'.encode())
    assert (status, body["error"]["code"]) == (400, "invalid_client_message_id")
    assert refused(events) == [(400, "invalid_client_message_id")]
    assert (await visitor.history())["messages"] == []

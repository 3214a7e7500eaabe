"""Hostile input to the staff API, on SQLite and PostgreSQL: a 4xx or the text stored cleaned, never a 500.

Each refusal logs one line (request_refused) and no traceback.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
import pytest

from tests.conftest import SettingsFactory
from tests.support.client import Visitor, new_visitor, raw_request
from tests.support.logs import captured, refused
from tests.support.server import running_server
from tests.support.staff import PASSWORD, StaffClient, add_staff, staff_client

DEEP = b"[" * 30_000 + b"]" * 30_000
METRICS_TOKEN = "metrics-s3cret"


@dataclass
class Desk:
    base_url: str
    alice: StaffClient
    visitor: Visitor  # escalated and claimed by alice

    @property
    def conversation(self) -> str:
        return f"/api/staff/conversations/{self.visitor.conversation_id}"

    async def post_raw(self, path: str, payload: bytes) -> tuple[int, dict]:
        headers = {"X-CSRF-Token": self.alice.csrf, "Content-Type": "application/json"}
        async with self.alice.session.post(self.base_url + path, data=payload, headers=headers) as response:
            return response.status, await response.json()


@pytest.fixture
async def desk(make_settings: SettingsFactory, database_url: str, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Desk]:
    monkeypatch.setenv("SWITCHBOARD_METRICS_TOKEN", METRICS_TOKEN)
    settings = make_settings(database={"url": database_url})
    async with running_server(settings) as (base_url, _app):
        await add_staff(settings, "alice", "Alice Ng")
        async with aiohttp.ClientSession() as http, staff_client(base_url, "alice") as alice:
            visitor = await new_visitor(http, base_url)
            assert (await visitor.send("can I talk to a human please"))["state"] == "waiting"
            assert (await alice.act(visitor.conversation_id, "claim"))[0] == 200
            yield Desk(base_url, alice, visitor)


async def test_json_nested_30000_deep_is_invalid_json(desk: Desk, caplog: pytest.LogCaptureFixture) -> None:
    with captured(caplog) as events:
        for path in ("/api/staff/login", f"{desk.conversation}/notes", f"{desk.conversation}/reply"):
            status, body = await desk.post_raw(path, DEEP)
            assert (status, body["error"]["code"]) == (400, "invalid_json"), path
    assert refused(events) == [(400, "invalid_json")] * 3


@pytest.mark.parametrize(
    ("username", "password"),
    [("ali\\ud800ce", PASSWORD), ("alice", "correct horse\\udfff battery"), ("ali\\u0000ce", PASSWORD), ("alice", PASSWORD + "\\u0000")],
)
async def test_a_login_with_a_surrogate_or_a_nul_fails_like_a_wrong_password(
    desk: Desk, username: str, password: str, caplog: pytest.LogCaptureFixture
) -> None:
    payload = f'{{"username": "{username}", "password": "{password}"}}'.encode()
    with captured(caplog) as events:
        status, body = await desk.post_raw("/api/staff/login", payload)
    assert (status, body["error"]["code"]) == (401, "login_failed")
    assert refused(events) == [(401, "login_failed")]


async def test_notes_and_replies_keep_their_text_without_nuls_or_lone_surrogates(
    desk: Desk, caplog: pytest.LogCaptureFixture
) -> None:
    with captured(caplog):
        status, body = await desk.post_raw(f"{desk.conversation}/notes", b'{"text": "refund \\ud800 sent\\u0000"}')
        assert status == 201, body
        status, body = await desk.post_raw(f"{desk.conversation}/reply", b'{"text": "hi \\udc00there\\u0000!"}')
        assert status == 200, body
    detail = await desk.alice.detail(desk.visitor.conversation_id)
    assert [n["text"] for n in detail["notes"]] == ["refund \ufffd sent"]
    assert detail["messages"][-1]["text"] == "hi \ufffdthere!"
    assert (await desk.visitor.history())["messages"][-1]["text"] == "hi \ufffdthere!"


@pytest.mark.parametrize("text", ["\u200b\u200d", "\ufeff \u2060", "\u3164", "\x00"])
async def test_invisible_only_notes_and_replies_are_empty(desk: Desk, text: str, caplog: pytest.LogCaptureFixture) -> None:
    before = await desk.alice.detail(desk.visitor.conversation_id)
    with captured(caplog) as events:
        for action in ("notes", "reply"):
            status, body = await desk.post_raw(f"{desk.conversation}/{action}", json.dumps({"text": text}).encode())
            assert (status, body["error"]["code"]) == (400, "invalid_text")
    assert refused(events) == [(400, "invalid_text")] * 2
    after = await desk.alice.detail(desk.visitor.conversation_id)
    assert (after["notes"], after["messages"]) == (before["notes"], before["messages"])


async def test_undecodable_bytes_in_the_csrf_header_the_cookie_or_the_metrics_token(
    desk: Desk, caplog: pytest.LogCaptureFixture
) -> None:
    cookie = next(c.value for c in desk.alice.session.cookie_jar if c.key == "switchboard_staff")
    claim = f"POST {desk.conversation}/claim HTTP/1.1\r\nContent-Length: 0\r\nCookie: switchboard_staff={cookie}\r\n"
    with captured(caplog) as events:
        status, body = await raw_request(desk.base_url, claim.encode() + b"X-CSRF-Token: \xff\xfe\xed\xa0\x80")
        assert (status, body["error"]["code"]) == (403, "csrf_failed")
        for value in (b"\xff\xfe", b"\xc3\xa9t\xc3\xa9", b"a%00b"):
            status, body = await raw_request(desk.base_url, b"GET /api/staff/me HTTP/1.1\r\nCookie: switchboard_staff=" + value)
            assert (status, body["error"]["code"]) == (401, "unauthorized"), value
        status, body = await raw_request(desk.base_url, b"GET /api/metrics/models HTTP/1.1\r\nAuthorization: Bearer \xff\xfe")
        assert (status, body["error"]["code"]) == (401, "unauthorized")
    assert refused(events) == [(403, "csrf_failed")] + [(401, "unauthorized")] * 4
    assert (await desk.alice.call("GET", "/api/staff/me"))[0] == 200  # the real session is untouched


async def test_a_conversation_id_with_a_nul_is_not_found(desk: Desk, caplog: pytest.LogCaptureFixture) -> None:
    cookie = next(c.value for c in desk.alice.session.cookie_jar if c.key == "switchboard_staff")
    with captured(caplog) as events:
        status, body = await raw_request(
            desk.base_url, f"GET /api/staff/conversations/ab%00cd HTTP/1.1\r\nCookie: switchboard_staff={cookie}".encode()
        )
    assert (status, body["error"]["code"]) == (404, "not_found")
    assert refused(events) == [(404, "not_found")]


@pytest.mark.parametrize("client_id", ["r\\u0000-1", "r\\udfff-1"])
async def test_a_reply_client_message_id_no_database_stores_is_refused(
    desk: Desk, client_id: str, caplog: pytest.LogCaptureFixture
) -> None:
    before = await desk.alice.detail(desk.visitor.conversation_id)
    with captured(caplog) as events:
        payload = f'{{"text": "hello", "client_message_id": "{client_id}"}}'.encode()
        status, body = await desk.post_raw(f"{desk.conversation}/reply", payload)
    assert (status, body["error"]["code"]) == (400, "invalid_client_message_id")
    assert refused(events) == [(400, "invalid_client_message_id")]
    assert (await desk.alice.detail(desk.visitor.conversation_id))["messages"] == before["messages"]

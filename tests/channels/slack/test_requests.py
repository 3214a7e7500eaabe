"""Requests to /slack/events that are not what Slack sends: a 4xx, one log line, nothing stored.

The signature is checked over the raw body before anything is parsed, so an unsigned body is a
401 whatever it holds; a signed one that cannot be read is a 400.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from collections.abc import AsyncIterator
from urllib.parse import quote

import aiohttp
import pytest
from slack_sdk.signature import SignatureVerifier

from tests.channels.slack.conftest import FAST_OUTBOX, SlackRig
from tests.conftest import SettingsFactory
from tests.support.fake_slack import SIGNING_SECRET, FakeSlack, dm, signed
from tests.support.server import running_server
from tests.support.services import fresh_postgres_database


class Logs:
    """What the server logged since the last look: structlog's lines and the standard library's records."""

    def __init__(self, capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture) -> None:
        self.capfd, self.caplog = capfd, caplog
        self.take()

    def take(self) -> tuple[str, list[logging.LogRecord]]:
        out, err = self.capfd.readouterr()
        text, records = out + err + self.caplog.text, list(self.caplog.records)
        self.caplog.clear()
        return text, records

    def assert_refused_quietly(self, times: int = 1) -> None:
        """`times` one-line refusals, and no traceback or error-level record."""
        text, records = self.take()
        assert "Traceback" not in text, text
        assert len([line for line in text.splitlines() if "slack_request_refused" in line]) == times, text
        assert not [r for r in records if r.levelno >= logging.ERROR], text


@pytest.fixture
def logs(capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture) -> Logs:
    return Logs(capfd, caplog)


async def refused(rig: SlackRig, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, object]]:
    async with rig.http.post(f"{rig.base_url}/slack/events", data=body, headers=headers) as response:
        return response.status, await response.json()


def raw_signed(body: bytes, timestamp: str) -> dict[str, str]:
    """Signed over the body's bytes as Slack would, for bodies slack_sdk's helper cannot take."""
    digest = hmac.new(SIGNING_SECRET.encode(), b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256).hexdigest()
    return {"Content-Type": "application/json", "X-Slack-Request-Timestamp": timestamp, "X-Slack-Signature": f"v0={digest}"}


UNREADABLE = {
    "malformed JSON": (b'{"type": "event_callback", "event": ', "application/json"),
    "invalid UTF-8": (b'{"type": "event_callback", "text": "\xff\xfe"}', "application/json"),
    "a bad form payload": (b"payload=" + quote("{not json").encode(), "application/x-www-form-urlencoded"),
    "a form payload that is not an object": (b"payload=" + quote("[1, 2]").encode(), "application/x-www-form-urlencoded"),
    "JSON that is not an object": (b"[1, 2, 3]", "application/json"),
    "an event that is not an object": (b'{"type": "event_callback", "event": "message"}', "application/json"),
}


@pytest.mark.parametrize("kind", list(UNREADABLE))
async def test_an_unsigned_body_that_cannot_be_parsed_is_a_401_with_one_log_line(rig: SlackRig, kind: str, logs: Logs) -> None:
    body, content_type = UNREADABLE[kind]
    logs.take()
    for headers in (
        {"Content-Type": content_type},  # no signature at all
        {"Content-Type": content_type, "X-Slack-Request-Timestamp": str(int(time.time())), "X-Slack-Signature": "v0=" + "0" * 64},
    ):
        status, answer = await refused(rig, body, headers)
        assert status == 401, (kind, status)
        assert answer["error"]["code"] == "invalid_signature"  # type: ignore[index]
    logs.assert_refused_quietly(times=2)
    assert await rig.conversations() == []


@pytest.mark.parametrize("stamp", ["yesterday", "", "1.5e9", "0x6553f100", "١٧٠٠٠٠٠٠٠٠"])
async def test_a_timestamp_that_is_not_a_number_is_a_401(rig: SlackRig, stamp: str, logs: Logs) -> None:
    body = json.dumps({"type": "event_callback", "event": dm("hi", ts="1700007000.000100")})
    headers = {"Content-Type": "application/json", "X-Slack-Request-Timestamp": stamp,
               "X-Slack-Signature": SignatureVerifier(SIGNING_SECRET).generate_signature(timestamp=stamp, body=body) or ""}
    logs.take()
    status, answer = await refused(rig, body.encode(), headers)
    assert status == 401
    assert answer["error"]["code"] == "invalid_signature"  # type: ignore[index]
    logs.assert_refused_quietly()


@pytest.mark.parametrize("kind", [kind for kind in UNREADABLE if kind != "invalid UTF-8"])
async def test_a_signed_body_that_cannot_be_parsed_is_a_400(rig: SlackRig, kind: str, logs: Logs) -> None:
    body, content_type = UNREADABLE[kind]
    headers = {**signed(body.decode()), "Content-Type": content_type}
    logs.take()
    status, answer = await refused(rig, body, headers)
    assert status == 400
    assert answer["error"]["code"] == "invalid_body"  # type: ignore[index]
    logs.assert_refused_quietly()


async def test_a_body_signed_over_bytes_that_are_not_utf8_is_refused(rig: SlackRig, logs: Logs) -> None:
    # Slack's signature is over UTF-8 text; such a body cannot be verified, so it is not taken.
    body = UNREADABLE["invalid UTF-8"][0]
    logs.take()
    status, _answer = await refused(rig, body, raw_signed(body, str(int(time.time()))))
    assert status == 401
    logs.assert_refused_quietly()


@pytest.fixture
async def postgres_rig(slack_env: None, api: FakeSlack, make_settings: SettingsFactory) -> AsyncIterator[SlackRig]:
    async with fresh_postgres_database() as url:
        settings = make_settings(database={"url": url}, slack={"api_base_url": api.base_url}, outbox=FAST_OUTBOX)
        async with running_server(settings) as (base_url, app):
            async with aiohttp.ClientSession() as http:
                yield SlackRig(api, base_url, app, settings, http)


async def test_a_nul_in_a_dm_on_postgresql_is_stored_without_it_and_answered(
    postgres_rig: SlackRig, logs: Logs
) -> None:
    rig = postgres_rig
    logs.take()
    response = await rig.post_event(dm("where is my order\x00 NW-10482?", ts="1700007100.000100"))
    assert response.status == 200
    [post] = await rig.api.wait_for("chat.postMessage")
    assert "NW-10482" in post.params["text"]
    customer, _bot = await rig.messages()
    assert customer.text == "where is my order NW-10482?"
    # Slack's retry of it is the same message: acknowledged, not stored again.
    assert (await rig.post_event(dm("where is my order\x00 NW-10482?", ts="1700007100.000100"), retry=1)).status == 200
    assert [m.role for m in await rig.messages()] == ["customer", "bot"]
    logs.assert_refused_quietly(times=0)

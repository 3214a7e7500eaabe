"""Socket Mode: events arrive over a WebSocket the server opens, for deployments without a public URL."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from tests.channels.slack.conftest import FAST_OUTBOX
from tests.conftest import SettingsFactory
from tests.support.fake_slack import APP_TOKEN, BOT_TOKEN, FakeSlack, dm, event_callback
from tests.support.server import running_server


async def test_an_event_over_socket_mode_is_acknowledged_and_answered(
    monkeypatch: pytest.MonkeyPatch, api: FakeSlack, make_settings: SettingsFactory
) -> None:
    for name in ("SLACK_SIGNING_SECRET", "SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SLACK_BOT_TOKEN", BOT_TOKEN)
    monkeypatch.setenv("SLACK_APP_TOKEN", APP_TOKEN)
    settings = make_settings(slack={"api_base_url": api.base_url, "socket_mode": True}, outbox=FAST_OUTBOX)
    async with running_server(settings) as (base_url, _app):
        await api.wait_for_socket()
        [opened] = api.of("apps.connections.open")
        assert opened.token == APP_TOKEN

        await api.push_event(event_callback(dm("where is my order NW-10482?", ts="1700005000.000100")), "env-42")
        [answer] = await api.wait_for("chat.postMessage")
        assert answer.token == BOT_TOKEN and "NW-10482" in answer.params["text"]
        assert {"envelope_id": "env-42"} in api.socket_acks

        # The same envelope again (Slack redelivers when an ack is late): acknowledged, not answered twice.
        await api.push_event(event_callback(dm("where is my order NW-10482?", ts="1700005000.000100")), "env-43")
        await api.wait_for_ack("env-43")
        await asyncio.sleep(0.3)
        assert len(api.posts) == 1

        # Without a signing secret there is no HTTP endpoint to forge requests against.
        async with aiohttp.ClientSession() as http:
            async with http.post(f"{base_url}/slack/events", data=b"{}") as response:
                assert response.status in (404, 405)


def test_socket_mode_needs_the_app_token(monkeypatch: pytest.MonkeyPatch, make_settings: SettingsFactory) -> None:
    from agent.app.server import create_app
    from agent.settings import ConfigError

    monkeypatch.delenv("SLACK_APP_TOKEN", raising=False)
    monkeypatch.setenv("SLACK_BOT_TOKEN", BOT_TOKEN)
    with pytest.raises(ConfigError, match="slack.socket_mode.*SLACK_APP_TOKEN"):
        create_app(make_settings(slack={"socket_mode": True}))

"""Installing the app into a workspace over OAuth; the installation lives in our database."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest
from sqlalchemy import text

from agent.store import Database
from tests.channels.slack.conftest import FAST_OUTBOX, SlackRig
from tests.conftest import SettingsFactory
from tests.support.fake_slack import SIGNING_SECRET, FakeSlack, dm, event_callback, signed
from tests.support.server import running_server

CLIENT_ID = "1111.2222"


@pytest.fixture
async def oauth_rig(monkeypatch: pytest.MonkeyPatch, api: FakeSlack, make_settings: SettingsFactory) -> AsyncIterator[SlackRig]:
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    monkeypatch.delenv("SLACK_APP_TOKEN", raising=False)
    monkeypatch.setenv("SLACK_SIGNING_SECRET", SIGNING_SECRET)
    monkeypatch.setenv("SLACK_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("SLACK_CLIENT_SECRET", "client-secret")
    settings = make_settings(slack={"api_base_url": api.base_url}, outbox=FAST_OUTBOX)
    async with running_server(settings) as (base_url, app):
        async with aiohttp.ClientSession() as http:
            yield SlackRig(api, base_url, app, settings, http)


async def begin_install(rig: SlackRig) -> tuple[str, str]:
    """GET /slack/install: the redirect to Slack's consent page; returns (state, cookie header)."""
    async with rig.http.get(f"{rig.base_url}/slack/install", allow_redirects=False) as response:
        assert response.status == 302
        location = urlsplit(response.headers["Location"])
        cookie = response.headers["Set-Cookie"].split(";")[0]
    assert f"{location.scheme}://{location.netloc}{location.path}" == "https://slack.com/oauth/v2/authorize"
    query = parse_qs(location.query)
    assert query["client_id"] == [CLIENT_ID]
    assert "chat:write" in query["scope"][0].split(",") and "im:history" in query["scope"][0].split(",")
    [state] = query["state"]
    assert cookie == f"slack-app-oauth-state={state}"
    return state, cookie


async def installed_bots(rig: SlackRig) -> list[tuple[str, str]]:
    database = Database(rig.settings.database_url)
    try:
        return await database.run(
            lambda s: [tuple(r) for r in s.execute(text("SELECT team_id, bot_token FROM slack_bots")).all()]  # type: ignore[misc]
        )
    finally:
        await database.dispose()


async def test_a_workspace_installs_the_app_and_is_answered_with_its_own_token(oauth_rig: SlackRig) -> None:
    rig = oauth_rig
    rig.api.installs["code-1"] = {"team_id": "T0OTHER01", "token": "xoxb-other-workspace"}
    state, cookie = await begin_install(rig)

    redirect = f"{rig.base_url}/slack/oauth_redirect?code=code-1&state={state}"
    async with rig.http.get(redirect, headers={"Cookie": cookie}, allow_redirects=False) as response:
        assert response.status == 200, await response.text()
    [exchange] = rig.api.of("oauth.v2.access")
    assert exchange.params["code"] == "code-1"
    assert await installed_bots(rig) == [("T0OTHER01", "xoxb-other-workspace")]

    # The same state cannot be used twice.
    async with rig.http.get(redirect, headers={"Cookie": cookie}, allow_redirects=False) as response:
        assert response.status >= 400
    assert len(rig.api.of("oauth.v2.access")) == 1

    body = json.dumps(event_callback(dm("what's your return policy", ts="1700004000.000100"), team="T0OTHER01"))
    assert (await rig.post_raw(body, signed(body))).status == 200
    [answer] = await rig.api.wait_for("chat.postMessage")
    assert answer.token == "xoxb-other-workspace" and answer.params["channel"] == "D0DM00001"
    # The event was authorized from the stored install: the only auth.test is the install's own.
    assert len(rig.api.of("auth.test")) == 1


async def test_an_installed_workspaces_event_while_the_slack_api_is_unreachable_is_stored_and_answered_later(
    oauth_rig: SlackRig,
) -> None:
    rig = oauth_rig
    rig.api.installs["code-4"] = {"team_id": "T0OTHER01", "token": "xoxb-other-workspace"}
    state, cookie = await begin_install(rig)
    async with rig.http.get(f"{rig.base_url}/slack/oauth_redirect?code=code-4&state={state}", headers={"Cookie": cookie}) as response:
        assert response.status == 200

    rig.api.unreachable = True
    body = json.dumps(event_callback(dm("is the Ridgeline boot waterproof?", ts="1700004200.000100"), team="T0OTHER01"))
    assert (await rig.post_raw(body, signed(body))).status == 200
    assert [m.text for m in await rig.messages()] == ["is the Ridgeline boot waterproof?"]
    while rig.api.refused < 2:  # the answer is being tried
        await asyncio.sleep(0.05)
    rig.api.unreachable = False
    [answer] = await rig.api.wait_for("chat.postMessage")
    assert answer.token == "xoxb-other-workspace" and answer.params["channel"] == "D0DM00001"


async def test_an_install_with_a_forged_state_installs_nothing(oauth_rig: SlackRig) -> None:
    rig = oauth_rig
    rig.api.installs["code-2"] = {"team_id": "T0EVIL001", "token": "xoxb-evil"}
    _state, cookie = await begin_install(rig)
    forged = f"{rig.base_url}/slack/oauth_redirect?code=code-2&state=forged-state"
    async with rig.http.get(forged, headers={"Cookie": "slack-app-oauth-state=forged-state"}, allow_redirects=False) as response:
        assert response.status >= 400
    async with rig.http.get(forged, headers={"Cookie": cookie}, allow_redirects=False) as response:
        assert response.status >= 400
    assert rig.api.of("oauth.v2.access") == [] and await installed_bots(rig) == []


async def test_an_event_from_a_workspace_that_never_installed_is_not_taken(oauth_rig: SlackRig) -> None:
    rig = oauth_rig
    rig.api.installs["code-3"] = {"team_id": "T0OTHER01", "token": "xoxb-other-workspace"}
    state, cookie = await begin_install(rig)
    async with rig.http.get(f"{rig.base_url}/slack/oauth_redirect?code=code-3&state={state}", headers={"Cookie": cookie}) as response:
        assert response.status == 200
    installing = [(c.method, c.token) for c in rig.api.calls]
    assert installing == [("oauth.v2.access", None), ("auth.test", "xoxb-other-workspace")]
    body = json.dumps(event_callback(dm("hello", ts="1700004100.000100"), team="T0UNKNOWN"))
    async with rig.http.post(f"{rig.base_url}/slack/events", data=body.encode(), headers=signed(body)) as response:
        # Verified but not installed: a 200, so Slack does not retry what no retry can fix,
        # and nothing is stored, answered, or sent with another workspace's token.
        assert response.status == 200
        assert "reinstall" in await response.text()
    # Slack's retry of it is refused the same way.
    assert (await rig.post_raw(body, signed(body, retry=1))).status == 200
    # The installed workspace's next message is answered after anything those would have caused.
    body = json.dumps(event_callback(dm("hello", ts="1700004101.000100"), team="T0OTHER01"))
    assert (await rig.post_raw(body, signed(body))).status == 200
    [answer] = await rig.answered("hello")
    assert answer.token == "xoxb-other-workspace"
    assert [c.conversation_key for c in await rig.conversations()] == ["T0OTHER01:D0DM00001"]
    calls = [(c.method, c.token) for c in rig.api.calls]
    assert calls[: len(installing)] == installing
    assert calls[len(installing):] == [("chat.postMessage", "xoxb-other-workspace")]  # no Slack call at all for it

"""Slack's Web API unreachable: signed events are still stored and acknowledged, and answered once it is back.

The bot token is checked (auth.test) at start-up and in the background, never while an event waits.
"""

from __future__ import annotations

import asyncio
import json
import time

import aiohttp

from agent.store import Database
from agent.store.outbox import OutboxStore
from tests.channels.slack.conftest import FAST_OUTBOX, SlackRig
from tests.conftest import SettingsFactory
from tests.support.fake_slack import BOT_TOKEN, api_url, closed_port, dm, event_callback, fake_slack, mention, signed
from tests.support.server import running_server


async def test_an_event_while_the_slack_api_is_unreachable_is_stored_acknowledged_and_answered_once_it_is_back(
    slack_env: None, make_settings: SettingsFactory
) -> None:
    port = closed_port()  # the Web API is down (a DNS failure, a proxy down): connections are refused
    settings = make_settings(slack={"api_base_url": api_url(port)}, outbox=FAST_OUTBOX)
    async with running_server(settings) as (base_url, app), aiohttp.ClientSession() as http:
        rig = SlackRig(None, base_url, app, settings, http)  # type: ignore[arg-type]
        started = time.monotonic()
        response = await rig.post_event(mention("where is my order NW-10482?", ts="1700008000.000100"))
        assert response.status == 200
        assert time.monotonic() - started < 3
        [customer] = await rig.messages()
        assert (customer.role, customer.text) == ("customer", "where is my order NW-10482?")  # the bot's own mention is gone

        # The answer is written and waits in the outbox, tried again and again.
        [conversation] = await rig.conversations()
        database = Database(settings.database_url)
        try:
            deadline = time.monotonic() + 10
            while not [r for r in await OutboxStore(database).items(conversation.id) if r.attempts >= 2]:
                assert time.monotonic() < deadline, "the answer was never tried"
                await asyncio.sleep(0.05)
        finally:
            await database.dispose()

        # Slack is back: the answer arrives, once, in the mention's thread, with the bot token.
        async with fake_slack(port) as api:
            [post] = await api.wait_for("chat.postMessage")
            assert (post.params["channel"], post.params["thread_ts"], post.token) == ("C0GENERAL", "1700008000.000100", BOT_TOKEN)
            assert "NW-10482" in post.params["text"]
            await api.wait_for("auth.test")  # and the background check of the token got through
            # A retry of the event Slack sent while we were unreachable is not answered again.
            assert (await rig.post_event(mention("where is my order NW-10482?", ts="1700008000.000100"), retry=1)).status == 200
            await rig.post_event(dm("thanks", ts="1700008001.000100"), event_id="Ev2")
            posts = await api.wait_for("chat.postMessage", 2)
            assert [p.params["channel"] for p in posts] == ["C0GENERAL", "D0DM00001"]
            assert [m.role for m in await rig.messages()] == ["customer", "bot", "customer", "bot"]


async def test_the_token_is_checked_at_start_up_and_not_on_an_events_path(rig: SlackRig) -> None:
    [check] = await rig.api.wait_for("auth.test")
    assert check.token == BOT_TOKEN
    body = json.dumps(event_callback(dm("hi there", ts="1700008100.000100")))
    assert (await rig.post_raw(body, signed(body))).status == 200
    await rig.api.wait_for("chat.postMessage")
    assert len(rig.api.of("auth.test")) == 1

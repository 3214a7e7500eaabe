"""The handoff summary written by a configured model, and the extractive one whenever it cannot be."""

from __future__ import annotations

import aiohttp
import pytest

from agent.settings import ConfigError, load_settings
from tests.conftest import SettingsFactory
from tests.support.client import new_visitor
from tests.support.fake_openai import FakeOpenAI, fake_openai
from tests.support.server import running_server
from tests.support.staff import add_staff, staff_client

WRITTEN = "Dana wants a refund for order NW-10482, which arrived with a torn seam. Start with the return label."


def with_writer(make_settings: SettingsFactory, provider: FakeOpenAI, model: str, timeout_s: float = 8.0):  # type: ignore[no-untyped-def]
    return make_settings(
        models={
            "local": {"provider": "local"},
            "writer": {"provider": "openai", "base_url": provider.base_url, "model": model, "timeout_s": 5},
        },
        escalation={"summary_model": "writer", "summary_timeout_s": timeout_s},
    )


async def escalated_detail(settings, views: int = 1) -> list[dict]:  # type: ignore[no-untyped-def]
    async with running_server(settings) as (base_url, _app), aiohttp.ClientSession() as http:
        await add_staff(settings, "alice", "Alice Ng")
        visitor = await new_visitor(http, base_url)
        await visitor.send("my order NW-10482 came with a torn seam")
        assert (await visitor.send("can I talk to a human please"))["state"] == "waiting"
        async with staff_client(base_url, "alice") as alice:
            return [await alice.detail(visitor.conversation_id) for _ in range(views)]


async def test_a_configured_model_writes_the_summary_once_per_transcript(make_settings: SettingsFactory) -> None:
    async with fake_openai() as provider:
        first, again = await escalated_detail(with_writer(make_settings, provider, f"reply-{WRITTEN}"), views=2)
        asked = [r for r in provider.requests if r["body"]["model"].startswith("reply-")]
    assert (first["summary"], first["summary_source"]) == (WRITTEN, "model")
    assert again["summary"] == WRITTEN
    assert len(asked) == 1  # the second view came from the cache
    prompt = asked[0]["body"]["messages"][-1]["content"]
    assert "customer: my order NW-10482 came with a torn seam" in prompt
    assert "asked for a person" in prompt


@pytest.mark.parametrize("model, timeout_s", [("error-500", 8.0), ("slow-5", 0.3), ("empty", 8.0)])
async def test_a_failing_or_slow_model_leaves_the_extractive_summary(
    make_settings: SettingsFactory, model: str, timeout_s: float
) -> None:
    async with fake_openai() as provider:
        [detail] = await escalated_detail(with_writer(make_settings, provider, model, timeout_s))
    assert detail["summary_source"] == "extractive"
    assert detail["summary"].startswith("Customer on web asked for a person"), detail["summary"]
    assert "NW-10482" in detail["summary"]


async def test_without_a_summary_model_the_summary_is_extractive(make_settings: SettingsFactory) -> None:
    [detail] = await escalated_detail(make_settings())
    assert detail["summary_source"] == "extractive"


def test_a_summary_model_must_be_a_configured_model() -> None:
    with pytest.raises(ConfigError, match="escalation.summary_model"):
        load_settings(escalation={"summary_model": "nope"})

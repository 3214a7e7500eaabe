"""A channel in `verification.trusted_channels` vouches for its user: the private tools run at
once, and the business's system hears who the customer is from the channel's own id."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from agent.app import keys
from agent.contracts import ToolOutcome
from tests.conftest import SettingsFactory
from tests.support.client import new_visitor
from tests.support.fake_shop import FakeShop, fake_shop
from tests.support.server import running_server
from tests.support.tool_box import shipped_tools


@pytest.fixture
async def shop() -> AsyncIterator[FakeShop]:
    async with fake_shop() as shop:
        yield shop


async def lookups(make_settings: SettingsFactory, shop: FakeShop, trusted: list[str]) -> tuple[list[ToolOutcome], str]:
    """lookup_order's outcomes for "where is my order", and the web chat user who asked."""
    verification = {"tool": "check_identity", "trusted_channels": trusted}
    settings = make_settings(tools=shipped_tools(shop.base_url), demo_store={"serve": False}, verification=verification)
    async with running_server(settings) as (base_url, app), aiohttp.ClientSession() as session:
        visitor = await new_visitor(session, base_url)
        await visitor.send("where is my order NW-30001?")
        turns = await app[keys.STORE].turns(visitor.conversation_id)
        conversation = await app[keys.STORE].get_conversation(visitor.conversation_id)
    assert conversation is not None
    return [call.outcome for turn in turns for call in turn.tool_calls if call.tool == "lookup_order"], conversation.channel_user_id


async def test_a_trusted_channel_runs_the_private_tool_as_its_user(make_settings: SettingsFactory, shop: FakeShop) -> None:
    outcomes, user = await lookups(make_settings, shop, ["web"])
    seen = [r for r in shop.requests if r.path == "/api/orders/NW-30001"]
    assert len(seen) == 1 and outcomes != [ToolOutcome.NEEDS_VERIFICATION]
    # The shop decides whose order it is: the web user is not the order's customer, so it says no.
    assert seen[0].headers["X-Customer"] == f"web:{user}"
    assert outcomes == [ToolOutcome.ERROR]


async def test_an_untrusted_channel_asks_for_proof_first(make_settings: SettingsFactory, shop: FakeShop) -> None:
    outcomes, _ = await lookups(make_settings, shop, [])
    assert outcomes == [ToolOutcome.NEEDS_VERIFICATION]
    assert [r for r in shop.requests if r.path.startswith("/api/orders/")] == []

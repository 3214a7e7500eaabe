"""Nobody claimed the conversation in time: the customer hears so, once, in or out of hours."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone

import aiohttp

from agent.escalation.hours import BusinessHours
from agent.escalation.summary import contacts, summarize
from personas import load_persona
from tests.conftest import SettingsFactory
from tests.support.client import Visitor, new_visitor
from tests.support.server import running_server

ESCALATE = "can I talk to a human please"


def test_business_hours_in_their_time_zone() -> None:
    hours = BusinessHours("America/Los_Angeles", {"mon": "06:00-18:00", "sat": "08:00-16:00"})
    monday_noon_pacific = datetime(2026, 11, 23, 20, 0, tzinfo=timezone.utc)
    monday_late_pacific = datetime(2026, 11, 24, 3, 0, tzinfo=timezone.utc)  # 19:00 Monday there
    tuesday_noon_pacific = datetime(2026, 11, 24, 20, 0, tzinfo=timezone.utc)  # not listed: closed
    assert hours.open_at(monday_noon_pacific)
    assert not hours.open_at(monday_late_pacific)
    assert not hours.open_at(tuesday_noon_pacific)


def test_contacts_left_reach_the_summary() -> None:
    texts = ["my email is ana.b@example.com", "or call +1 (555) 010-2030", "ana.b@example.com again"]
    assert contacts(texts) == ["ana.b@example.com", "+1 (555) 010-2030"]
    summary = summarize("web", "customer_request", None, ["lookup", "lookup", "support"], texts)
    assert "Contact left: ana.b@example.com, +1 (555) 010-2030." in summary
    assert "Routes: lookup → support." in summary


async def _system_texts(visitor: Visitor) -> list[str]:
    return [m["text"] for m in (await visitor.history())["messages"] if m["role"] == "system"]


async def _wait_for_system_text(visitor: Visitor, text: str, seconds: float = 8) -> None:
    for _ in range(int(seconds / 0.2)):
        if text in await _system_texts(visitor):
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"no {text!r} in {await _system_texts(visitor)}")


async def test_an_unclaimed_customer_is_told_once(make_settings: SettingsFactory) -> None:
    persona = load_persona("demo")
    settings = make_settings(escalation={"unclaimed_after_s": 0.5})
    async with running_server(settings) as (base_url, _app), aiohttp.ClientSession() as session:
        visitor = await new_visitor(session, base_url)
        await visitor.send(ESCALATE)
        await _wait_for_system_text(visitor, persona.unclaimed)
        await asyncio.sleep(2.5)  # two more sweeps
        assert (await _system_texts(visitor)).count(persona.unclaimed) == 1


async def test_out_of_hours_the_wording_says_so(make_settings: SettingsFactory) -> None:
    persona = load_persona("demo")
    never_open = {"timezone": "UTC", "days": {}}
    settings = make_settings(escalation={"unclaimed_after_s": 0.5, "business_hours": never_open})
    async with running_server(settings) as (base_url, _app), aiohttp.ClientSession() as session:
        visitor = await new_visitor(session, base_url)
        await visitor.send(ESCALATE)
        await _wait_for_system_text(visitor, persona.after_hours)
        assert persona.unclaimed not in await _system_texts(visitor)

"""Nobody claimed the conversation in time: the customer hears so, once, in or out of hours."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import aiohttp
import pytest

from agent.escalation.hours import BusinessHours, parse_span
from agent.staff.summary import contacts, summarize
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


def test_hours_may_run_to_midnight_or_past_it() -> None:
    hours = BusinessHours("UTC", {"fri": "18:00-02:00", "sat": "10:00-24:00"})
    friday = datetime(2026, 11, 27, tzinfo=timezone.utc)
    assert not hours.open_at(friday.replace(hour=17, minute=59))
    assert hours.open_at(friday.replace(hour=23, minute=30))
    assert hours.open_at(friday + timedelta(hours=25))  # Saturday 01:00, Friday's span
    assert not hours.open_at(friday + timedelta(hours=26))  # Saturday 02:00
    assert hours.open_at(friday + timedelta(hours=47, minutes=59))  # Saturday 23:59
    assert not hours.open_at(friday + timedelta(hours=48, minutes=30))  # Sunday 00:30: Saturday's ends at midnight
    with pytest.raises(ValueError):
        parse_span("09:00-09:00")
    with pytest.raises(ValueError):
        parse_span("9 to 5")


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


async def test_out_of_hours_a_waiting_customer_hears_so_in_those_words_without_the_full_wait(
    make_settings: SettingsFactory,
) -> None:
    persona = load_persona("demo")
    never_open = {"timezone": "UTC", "days": {}}
    # In hours this customer would wait 20 s for a notice; out of hours nobody is coming.
    settings = make_settings(escalation={"unclaimed_after_s": 20, "business_hours": never_open})
    async with running_server(settings) as (base_url, _app), aiohttp.ClientSession() as session:
        visitor = await new_visitor(session, base_url)
        await visitor.send(ESCALATE)
        started = asyncio.get_running_loop().time()
        await _wait_for_system_text(visitor, persona.after_hours, seconds=15)
        assert asyncio.get_running_loop().time() - started < 20
        assert persona.unclaimed not in await _system_texts(visitor)

"""SMS text that no database stores as sent: a NUL is dropped, invisible-only text is nothing."""

from __future__ import annotations

import pytest

from agent.store.tables import Conversation
from sqlmodel import select
from tests.channels.twilio.conftest import SiteFactory
from tests.support.logs import captured


async def conversations(site) -> list[Conversation]:  # type: ignore[no-untyped-def]
    return await site.database.run(lambda session: list(session.exec(select(Conversation)).all()))


async def test_a_nul_in_an_sms_is_dropped_and_the_message_answered(
    twilio_site: SiteFactory, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with twilio_site(database={"url": database_url}) as site:
        with captured(caplog):
            answer = await site.client.sms("where is my\x00 order NW-10482?")
        assert answer.status == 200
        [text] = answer.messages()
        assert "NW-10482" in text
        [conversation] = await conversations(site)
        customer = (await site.store.messages(conversation.id))[0]
        assert customer.text == "where is my order NW-10482?"


@pytest.mark.parametrize("body", ["\u200b\u200d", "\x00", "\ufeff\u2060 "])
async def test_an_invisible_only_sms_is_empty(twilio_site: SiteFactory, database_url: str, body: str) -> None:
    async with twilio_site(database={"url": database_url}) as site:
        answer = await site.client.sms(body)
        assert answer.status == 200 and answer.verbs() == []
        assert await conversations(site) == []

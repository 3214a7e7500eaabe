"""The REST sender against the fake Twilio API: Twilio's errors become the outbox's retry rules."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from agent.contracts import DeliveryError, MessageView, OutboundMessage, Role, utcnow
from agent.store import Database, OptOutStore
from agent.store.migrate import upgrade
from channels.twilio.sms import SmsOutbound, SmsSender
from tests.support.fake_twilio import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio
from tests.support.twilio import CUSTOMER, OUR_NUMBER


@pytest.fixture
async def optouts(tmp_path: Path) -> AsyncIterator[OptOutStore]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'sms.db'}"
    await asyncio.to_thread(upgrade, url)
    database = Database(url)
    yield OptOutStore(database)
    await database.dispose()


def outbound(fake: FakeTwilio, optouts: OptOutStore, **sender: object) -> SmsOutbound:
    options: dict[str, object] = {"account_sid": ACCOUNT_SID, "auth_token": AUTH_TOKEN, "api_base_url": fake.base_url}
    return SmsOutbound(SmsSender(**(options | sender)), optouts)  # type: ignore[arg-type]


def message(text: str, outbox_id: int = 1, to: str = CUSTOMER) -> OutboundMessage:
    view = MessageView(id=outbox_id, role=Role.STAFF, text=text, created_at=utcnow(), author="Alice")
    return OutboundMessage(outbox_id, "c1", "sms", f"{OUR_NUMBER}|{to}", to, view, attempt=1)


async def failure(sender: SmsOutbound, msg: OutboundMessage) -> DeliveryError:
    with pytest.raises(DeliveryError) as caught:
        await sender.send(msg)
    return caught.value


async def test_a_message_is_sent_from_the_number_the_customer_wrote_to(fake: FakeTwilio, optouts: OptOutStore) -> None:
    sender = outbound(fake, optouts)
    try:
        sid = await sender.send(message("Your tent ships today."))
    finally:
        await sender.close()
    [sent] = fake.messages
    assert sid == sent["sid"]
    assert (sent["To"], sent["From"], sent["Body"]) == (CUSTOMER, OUR_NUMBER, "Your tent ships today.")


async def test_rate_limits_and_outages_are_retried_with_twilios_hint(fake: FakeTwilio, optouts: OptOutStore) -> None:
    sender = outbound(fake, optouts)
    fake.fail_next(429, 20429, retry_after=2)
    fake.fail_next(503, 20500)
    try:
        limited = await failure(sender, message("hi"))
        down = await failure(sender, message("hi"))
        assert await sender.send(message("hi"))
    finally:
        await sender.close()
    assert (limited.permanent, limited.retry_after) == (False, 2.0)
    assert "429" in limited.reason and "20429" in limited.reason
    assert (down.permanent, down.retry_after) == (False, None)


async def test_an_unsubscribed_number_fails_for_good_and_is_remembered(fake: FakeTwilio, optouts: OptOutStore) -> None:
    sender = outbound(fake, optouts)
    fake.unsubscribed.add(CUSTOMER)
    try:
        error = await failure(sender, message("hi"))
        assert error.permanent and "21610" in error.reason and "unsubscribed" in error.reason
        assert await optouts.is_opted_out(CUSTOMER)
        attempts = len(fake.attempts)
        refused = await failure(sender, message("hi again", outbox_id=2))
    finally:
        await sender.close()
    assert refused.permanent and "opted out" in refused.reason
    assert len(fake.attempts) == attempts  # refused before calling Twilio


async def test_an_invalid_number_fails_for_good(fake: FakeTwilio, optouts: OptOutStore) -> None:
    sender = outbound(fake, optouts)
    fake.invalid.add("+15550000000")
    try:
        error = await failure(sender, message("hi", to="+15550000000"))
    finally:
        await sender.close()
    assert error.permanent and "21211" in error.reason and "invalid 'To'" in error.reason


async def test_bad_credentials_and_an_unreachable_api_are_retried(fake: FakeTwilio, optouts: OptOutStore) -> None:
    wrong = outbound(fake, optouts, auth_token="wrong")
    nowhere = outbound(fake, optouts, api_base_url="http://127.0.0.1:9", timeout_s=2.0)
    try:
        denied = await failure(wrong, message("hi"))
        unreachable = await failure(nowhere, message("hi"))
    finally:
        await wrong.close()
        await nowhere.close()
    assert not denied.permanent and "401" in denied.reason
    assert not unreachable.permanent and "unreachable" in unreachable.reason


async def test_a_split_message_resumes_after_the_part_that_was_sent(fake: FakeTwilio, optouts: OptOutStore) -> None:
    sender = outbound(fake, optouts, segment_budget=1)
    text = " ".join(f"Sentence number {n} is here to fill the message up." for n in range(6))
    fake.fail_next(500, 20500, after=1)
    try:
        await failure(sender, message(text))
        sids = await sender.send(message(text))
    finally:
        await sender.close()
    bodies = [m["Body"] for m in fake.messages]
    assert " ".join(bodies).split() == text.split()  # every part once, in order
    assert sids == ",".join(m["sid"] for m in fake.messages)

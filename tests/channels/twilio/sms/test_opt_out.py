"""STOP, START and HELP: stored, and nothing is ever sent to an opted-out number."""

from __future__ import annotations

from sqlmodel import select

from agent.store import OptOutStore
from agent.store.tables import Conversation
from personas import load_persona
from tests.channels.twilio.conftest import Site, SiteFactory
from tests.support.staff import add_staff, staff_client
from tests.support.twilio import CUSTOMER, message_sid

PERSONA = load_persona("demo")


async def conversation_of(site: Site) -> Conversation:
    [conversation] = await site.database.run(lambda session: list(session.exec(select(Conversation)).all()))
    return conversation


async def test_stop_is_stored_and_gets_no_answer(twilio_site: SiteFactory) -> None:
    async with twilio_site() as site:
        sid = message_sid()
        for body in ("Stop.", "STOP"):  # Twilio may deliver it twice; the keyword's own sid dedupes
            answer = await site.client.sms(body, sid=sid)
            assert answer.status == 200 and answer.verbs() == []
        optouts = OptOutStore(site.database)
        assert await optouts.is_opted_out(CUSTOMER)
        assert [(e.action, e.keyword, e.provider_message_id) for e in await optouts.events(CUSTOMER)] == [
            ("opt_out", "Stop.", sid)
        ]


async def test_an_opted_out_number_gets_nothing_until_it_says_start(twilio_site: SiteFactory) -> None:
    async with twilio_site() as site:
        await site.client.sms("UNSUBSCRIBE")
        # An ordinary message is stored (a person may read it) but not answered...
        answer = await site.client.sms("where is my order NW-10482?")
        assert answer.verbs() == []
        assert (await site.client.sms("HELP")).verbs() == []
        conversation = await conversation_of(site)
        # ...and the outbox refuses the reply for good, saying why (waited for: the turn runs on
        # after the webhook's empty answer).
        [row] = await site.settled_outbox(conversation.id)
        assert row.status == "failed" and "opted out" in (row.last_error or "")
        assert [m.role for m in await site.store.messages(conversation.id)] == ["customer", "bot"]
        assert site.fake.attempts == []

        # "Yes" means nothing special to a subscribed number, but START resubscribes.
        back = await site.client.sms("start")
        assert back.messages() == [PERSONA.resubscribed]
        assert not await OptOutStore(site.database).is_opted_out(CUSTOMER)
        again = await site.client.sms("where is my order NW-10482?")
        assert len(again.messages()) == 1


async def test_yes_is_an_ordinary_answer_from_a_subscribed_number(twilio_site: SiteFactory) -> None:
    async with twilio_site() as site:
        answer = await site.client.sms("Yes")
        assert len(answer.messages()) == 1 and answer.messages() != [PERSONA.resubscribed]
        assert await OptOutStore(site.database).events(CUSTOMER) == []


async def test_a_staff_reply_to_an_opted_out_customer_fails_permanently(twilio_site: SiteFactory) -> None:
    async with twilio_site() as site:
        escalated = await site.client.sms("can I talk to a human please")
        assert escalated.messages()
        conversation = await conversation_of(site)
        await site.client.sms("STOP")
        await add_staff(site.settings, "alice", "Alice Ng")
        async with staff_client(site.base_url, "alice") as staff:
            assert (await staff.act(conversation.id, "claim"))[0] == 200
            status, body = await staff.act(conversation.id, "reply", text="Hi, Alice here. Still there?")
            assert status == 200, body
        rows = await site.settled_outbox(conversation.id)
        assert [row.status for row in rows] == ["inline", "failed", "failed"]  # the notice that Alice joined, her reply
        assert all(row.last_error == f"not sent: {CUSTOMER} has opted out of SMS (replied STOP)" for row in rows[1:])
        assert site.fake.attempts == []


async def test_a_staff_reply_reaches_a_subscribed_customer_through_the_rest_api(twilio_site: SiteFactory) -> None:
    async with twilio_site(sms={"messaging_service_sid": "MG" + "a" * 32}) as site:
        await site.client.sms("can I talk to a human please")
        conversation = await conversation_of(site)
        await add_staff(site.settings, "alice", "Alice Ng")
        async with staff_client(site.base_url, "alice") as staff:
            await staff.act(conversation.id, "claim")
            await staff.act(conversation.id, "reply", text="Hi, Alice here. How can I help?")
        joined, sent = await site.fake.wait_for(2)
        assert joined["Body"] == PERSONA.staff_joined.replace("{staff}", "Alice Ng")  # told first, in order
        assert sent["To"] == CUSTOMER and sent["MessagingServiceSid"] == "MG" + "a" * 32 and "From" not in sent
        assert sent["Body"] == "Hi, Alice here. How can I help?"

"""POST /twilio/sms on the real server: signed requests, TwiML answers, the REST API via the outbox."""

from __future__ import annotations

import asyncio

from agent.store.tables import Conversation
from channels.twilio.sms.segments import segment_count
from personas import load_persona
from sqlmodel import select
from tests.channels.twilio.conftest import SiteFactory, slow_model
from tests.support.fake_openai import FakeOpenAI
from tests.support.twilio import CUSTOMER, OUR_NUMBER, message_sid

PERSONA = load_persona("demo")


async def conversations(site) -> list[Conversation]:  # type: ignore[no-untyped-def]
    return await site.database.run(lambda session: list(session.exec(select(Conversation)).all()))


async def test_a_quick_answer_comes_back_inline_as_twiml(twilio_site: SiteFactory) -> None:
    async with twilio_site() as site:
        answer = await site.client.sms("where is my order NW-10482?")
        assert answer.status == 200 and answer.verbs() == ["Message"]
        [text] = answer.messages()
        assert "NW-10482" in text
        assert "**" not in text and segment_count(text) <= 3
        [conversation] = await conversations(site)
        assert (conversation.channel, conversation.conversation_key) == ("sms", f"{OUR_NUMBER}|{CUSTOMER}")
        messages = await site.store.messages(conversation.id)
        assert [(m.role, m.channel_message_id is not None) for m in messages] == [("customer", True), ("bot", False)]
        # Delivered in the webhook's own response: the outbox row is marked so and never sent.
        [row] = await site.outbox.items(conversation.id)
        assert row.status == "inline"
        assert site.fake.attempts == []


async def test_a_slow_answer_acknowledges_at_once_and_arrives_through_the_rest_api(
    twilio_site: SiteFactory, openai: FakeOpenAI
) -> None:
    async with twilio_site(sms={"inline_deadline_s": 0.3}, **slow_model(openai, 1.5)) as site:
        answer = await site.client.sms("do you sell tents?")
        assert answer.status == 200 and answer.verbs() == []  # empty TwiML: nothing inline
        assert site.fake.messages == []  # the model is still thinking
        [sent] = await site.fake.wait_for(1)
        assert (sent["To"], sent["From"]) == (CUSTOMER, OUR_NUMBER)
        assert sent["Body"] == "echo: do you sell tents?"
        [conversation] = await conversations(site)
        [row] = await site.settled_outbox(conversation.id)
        assert (row.status, row.provider_message_id) == ("sent", sent["sid"])


async def test_a_repeated_message_sid_is_answered_once(twilio_site: SiteFactory) -> None:
    async with twilio_site() as site:
        sid = message_sid()
        first = await site.client.sms("what's your return policy?", sid=sid)
        again = await site.client.sms("what's your return policy?", sid=sid)
        assert len(first.messages()) == 1
        assert again.status == 200 and again.verbs() == []
        [conversation] = await conversations(site)
        assert [m.role for m in await site.store.messages(conversation.id)] == ["customer", "bot"]
        # A new message is answered after anything the repeat would have caused, and once the
        # outbox has settled, a second answer through the REST API would have been tried.
        assert len((await site.client.sms("thanks")).messages()) == 1
        rows = await site.settled_outbox(conversation.id)
        assert [row.status for row in rows] == ["inline", "inline"]
        assert [m.role for m in await site.store.messages(conversation.id)] == ["customer", "bot"] * 2
        assert site.fake.attempts == []


async def test_a_repeat_while_the_slow_turn_runs_gets_no_second_answer(
    twilio_site: SiteFactory, openai: FakeOpenAI
) -> None:
    async with twilio_site(sms={"inline_deadline_s": 0.2}, **slow_model(openai, 1.0)) as site:
        sid = message_sid()
        first, again = await asyncio.gather(site.client.sms("tents?", sid=sid), site.client.sms("tents?", sid=sid))
        assert first.verbs() == [] and again.verbs() == []
        await site.fake.wait_for(1)
        # A new message is answered after anything the repeat would have caused.
        assert (await site.client.sms("thanks")).verbs() == []
        assert len(await conversations(site)) == 1
        await site.fake.wait_for(2)  # sent in the conversation's order: a second answer would be first
        assert [sent["Body"] for sent in site.fake.messages] == ["echo: tents?", "echo: thanks"]
        assert len(openai.requests) == 2  # the model was asked once for each message


async def test_a_long_staff_reply_is_split_into_messages_within_the_budget(twilio_site: SiteFactory) -> None:
    async with twilio_site(sms={"segment_budget": 1}) as site:
        escalated = await site.client.sms("can I talk to a human please")
        parts = escalated.messages()
        assert " ".join(parts).split() == PERSONA.escalation.split()
        assert len(parts) > 1 and all(segment_count(p) == 1 for p in parts)
        [conversation] = await conversations(site)
        assert conversation.state == "waiting"


async def test_help_answers_with_the_personas_help_text(twilio_site: SiteFactory) -> None:
    async with twilio_site() as site:
        answer = await site.client.sms(" help ")
        assert answer.messages() == [PERSONA.help]
        assert await conversations(site) == []  # a keyword is not a conversation turn


async def test_a_message_to_a_short_code_is_answered(twilio_site: SiteFactory, openai: FakeOpenAI) -> None:
    short_code = "56789"  # Twilio posts a short code as its bare digits, no "+"
    async with twilio_site() as site:
        answer = await site.client.sms("where is my order NW-10482?", To=short_code)
        assert answer.status == 200 and "NW-10482" in answer.messages()[0]
        [conversation] = await conversations(site)
        assert conversation.conversation_key == f"{short_code}|{CUSTOMER}"
    async with twilio_site(sms={"inline_deadline_s": 0.2}, **slow_model(openai, 0.6)) as site:
        late = await site.client.sms("do you sell tents?", To="123456")
        assert late.status == 200 and late.verbs() == []
        [sent] = await site.fake.wait_for(1)  # a reply too late for the webhook comes from the short code too
        assert (sent["From"], sent["To"], sent["Body"]) == ("123456", CUSTOMER, "echo: do you sell tents?")


async def test_bad_requests_get_a_4xx_with_valid_twiml_and_store_nothing(twilio_site: SiteFactory) -> None:
    async with twilio_site() as site:
        base = {"MessageSid": message_sid(), "From": CUSTOMER, "To": OUR_NUMBER, "Body": "hi"}
        for broken in (
            {k: v for k, v in base.items() if k != "Body"},
            {k: v for k, v in base.items() if k != "MessageSid"},
            {**base, "From": "not-a-number"},
            {**base, "From": "56789"},  # only our side (To) may be a short code
            {**base, "To": "1234"},
            {**base, "To": "1234567"},
            {**base, "MessageSid": "SM-short"},
            {**base, "NumMedia": "many"},
        ):
            answer = await site.client.post("/twilio/sms", broken)
            assert answer.status == 400 and answer.root.tag == "Response" and answer.verbs() == []
        assert await conversations(site) == []


async def test_a_picture_without_words_is_stored_for_a_person(twilio_site: SiteFactory) -> None:
    async with twilio_site() as site:
        answer = await site.client.sms(
            "", NumMedia="1", MediaUrl0="https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1"
        )
        assert answer.status == 200
        [conversation] = await conversations(site)
        [first, *_] = await site.store.messages(conversation.id)
        assert first.text == "[1 attachment]"


async def test_a_message_stored_but_never_answered_is_answered_after_a_restart(
    make_settings, fake, monkeypatch  # type: ignore[no-untyped-def]
) -> None:
    from datetime import timedelta

    from agent.contracts import InboundMessage, utcnow
    from agent.store import Database, ConversationStore
    from agent.store.migrate import upgrade
    from tests.channels.twilio.conftest import FAST_OUTBOX, PUBLIC_URL
    from tests.support.server import running_server
    from tests.support.twilio import twilio_env

    twilio_env(monkeypatch)
    settings = make_settings(
        twilio={"api_base_url": fake.base_url}, server={"public_url": PUBLIC_URL}, outbox=FAST_OUTBOX
    )
    # A process stored this SMS, acknowledged it, and stopped before its turn ran.
    await asyncio.to_thread(upgrade, settings.database_url)
    database = Database(settings.database_url)
    try:
        await ConversationStore(database).save_inbound(
            InboundMessage(
                "sms", CUSTOMER, f"{OUR_NUMBER}|{CUSTOMER}", "what's your return policy?",
                provider_message_id=message_sid(), received_at=utcnow() - timedelta(minutes=2),
            )
        )  # fmt: skip
    finally:
        await database.dispose()
    async with running_server(settings):
        [sent] = await fake.wait_for(1)
    assert sent["To"] == CUSTOMER and "return" in sent["Body"].lower()

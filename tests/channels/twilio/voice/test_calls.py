"""A call through the <Gather> webhook loop on the real server, with TwiML parsed and checked."""

from __future__ import annotations

import asyncio
import re

from sqlmodel import select

from agent.contracts import Role
from agent.store.tables import Escalation
from personas import load_persona, to_speech
from tests.channels.twilio.conftest import Site, SiteFactory, slow_model
from tests.support.fake_openai import FakeOpenAI
from tests.support.staff import add_staff, staff_client
from tests.support.twilio import CALLER, TwiML, call_sid

PERSONA = load_persona("demo")
STAFF_NUMBER = "+15005550123"
URL = re.compile(r"https?://|www\.")


async def start_call(site: Site) -> tuple[str, TwiML]:
    sid = call_sid()
    return sid, await site.client.voice("/twilio/voice", sid)


async def say(site: Site, sid: str, action: str, speech: str = "", digits: str = "") -> TwiML:
    extra = {"SpeechResult": speech, "Confidence": "0.92"} if speech else {}
    if digits:
        extra["Digits"] = digits
    return await site.client.voice(action, sid, **extra)


def gather_action(answer: TwiML) -> str:
    return answer.find("Gather").attrib["action"]


async def test_a_call_is_greeted_and_listened_to(twilio_site: SiteFactory) -> None:
    async with twilio_site(voice={"hints": ["order", "tent"], "language": "en-GB"}) as site:
        sid, answer = await start_call(site)
        assert answer.status == 200 and answer.verbs() == ["Gather"]
        gather = answer.find("Gather")
        assert gather.attrib["input"] == "speech dtmf"
        assert gather.attrib["actionOnEmptyResult"] == "true"
        assert (gather.attrib["language"], gather.attrib["speechTimeout"], gather.attrib["hints"]) == ("en-GB", "auto", "order,tent")
        assert gather.attrib["action"] == "/twilio/voice/gather?turn=1&silence=0"
        assert answer.said() == [to_speech(PERSONA.greeting)]
        assert await site.store.conversation_by_key("voice", sid) is not None


async def test_the_answer_is_spoken_and_the_call_keeps_listening(twilio_site: SiteFactory) -> None:
    async with twilio_site() as site:
        sid, greeting = await start_call(site)
        answer = await say(site, sid, gather_action(greeting), speech="where is my order NW-10482")
        assert answer.verbs() == ["Gather"]
        [spoken] = answer.said()
        assert "N W, one zero four eight two" in spoken
        assert not URL.search(spoken) and "**" not in spoken and "NW-10482" not in spoken
        assert gather_action(answer) == "/twilio/voice/gather?turn=2&silence=0"
        # Twilio repeating the same request runs no second turn and says the same.
        again = await say(site, sid, gather_action(greeting), speech="where is my order NW-10482")
        assert again.said() == [spoken]
        conversation = await site.store.conversation_by_key("voice", sid)
        assert conversation is not None
        messages = await site.store.messages(conversation.id)
        assert [(m.role, m.text) for m in messages] == [
            (Role.CUSTOMER.value, "where is my order NW-10482"),
            (Role.BOT.value, spoken),
        ]


async def test_silence_reprompts_then_ends_the_call_politely(twilio_site: SiteFactory) -> None:
    async with twilio_site(voice={"reprompts": 2}) as site:
        sid, answer = await start_call(site)
        for silence in (1, 2):
            answer = await say(site, sid, gather_action(answer))
            assert answer.verbs() == ["Gather"]
            assert answer.said() == ["Are you still there? Tell me what you need, or press 0 to talk to a person."]
            assert gather_action(answer) == f"/twilio/voice/gather?turn=1&silence={silence}"
        goodbye = await say(site, sid, gather_action(answer))
        assert goodbye.verbs() == ["Say", "Hangup"]
        assert "goodbye" in goodbye.said()[0].lower()


async def test_pressing_0_dials_staff_and_the_escalation_reaches_the_queue_with_the_transcript(
    twilio_site: SiteFactory,
) -> None:
    async with twilio_site(voice={"transfer_number": STAFF_NUMBER}) as site:
        sid, greeting = await start_call(site)
        answer = await say(site, sid, gather_action(greeting), speech="my tent pole snapped on the first night")
        transfer = await say(site, sid, gather_action(answer), digits="0")
        assert transfer.verbs() == ["Say", "Dial"]
        assert transfer.said() == ["Connecting you to a member of our team now. Please hold."]
        dial = transfer.find("Dial")
        assert dial.attrib["action"] == "/twilio/voice/transfer-done"
        assert dial.find("Number").text == STAFF_NUMBER  # type: ignore[union-attr]

        await add_staff(site.settings, "alice", "Alice Ng")
        async with staff_client(site.base_url, "alice") as staff:
            [item] = await staff.queue()
            assert (item["channel"], item["state"], item["reason"]) == ("voice", "waiting", "customer_request")
            detail = await staff.detail(item["conversation_id"])
            texts = [m["text"] for m in detail["messages"]]
            assert texts[0] == "my tent pole snapped on the first night"
            assert "(pressed 0 for a person)" in texts

        nobody = await site.client.voice("/twilio/voice/transfer-done", sid, DialCallStatus="no-answer")
        assert nobody.verbs() == ["Say", "Hangup"] and "call you back" in nobody.said()[0]
        talked = await site.client.voice("/twilio/voice/transfer-done", sid, DialCallStatus="completed")
        assert talked.verbs() == ["Hangup"]


async def test_asking_for_a_person_joins_the_configured_queue(twilio_site: SiteFactory) -> None:
    async with twilio_site(voice={"transfer_queue": "support"}) as site:
        sid, greeting = await start_call(site)
        transfer = await say(site, sid, gather_action(greeting), speech="can I talk to a human please")
        assert transfer.verbs() == ["Say", "Enqueue"]
        assert transfer.find("Enqueue").text == "support"


async def test_without_a_transfer_target_the_caller_is_promised_a_call_back(twilio_site: SiteFactory) -> None:
    async with twilio_site() as site:
        sid, greeting = await start_call(site)
        answer = await say(site, sid, gather_action(greeting), digits="0")
        assert answer.verbs() == ["Say", "Hangup"] and "call you back" in answer.said()[0]


async def test_a_slow_turn_says_a_filler_and_redirects_until_the_answer_is_ready(
    twilio_site: SiteFactory, openai: FakeOpenAI
) -> None:
    async with twilio_site(voice={"turn_deadline_s": 0.5}, **slow_model(openai, 2.5)) as site:
        sid, greeting = await start_call(site)
        answer = await say(site, sid, gather_action(greeting), speech="which tent is best for two people")
        assert answer.verbs() == ["Say", "Redirect"]
        assert answer.said() == ["One moment while I check that."]
        redirect = answer.find("Redirect")
        assert redirect.attrib["method"] == "POST"
        assert redirect.text == "/twilio/voice/collect?turn=1&waited=0.5"
        hops = 0
        while answer.verbs()[-1] == "Redirect":
            hops += 1
            assert hops < 10
            answer = await site.client.voice(answer.find("Redirect").text or "", sid)
        assert hops >= 2  # 2.5 s of model time: the first collect (at ~0.5 s, waiting 0.5 s) cannot have it
        assert answer.verbs() == ["Gather"]
        assert answer.said() == ["echo: which tent is best for two people"]
        assert gather_action(answer) == "/twilio/voice/gather?turn=2&silence=0"
        assert len(openai.requests) == 1


async def test_a_finished_call_closes_its_conversation(twilio_site: SiteFactory) -> None:
    async with twilio_site() as site:
        sid, greeting = await start_call(site)
        await say(site, sid, gather_action(greeting), speech="what is your return policy")
        ringing = await site.client.voice("/twilio/voice/status", sid, CallStatus="ringing")
        assert ringing.status == 200
        done = await site.client.voice("/twilio/voice/status", sid, CallStatus="completed", CallDuration="42")
        assert done.status == 200 and done.verbs() == []
        conversation = await site.store.conversation_by_key("voice", sid)
        assert conversation is not None and conversation.state == "resolved"
        last = (await site.store.messages(conversation.id))[-1]
        assert (last.role, last.text) == (Role.SYSTEM.value, "Call ended (completed, 42 s).")


async def test_a_repeated_status_callback_changes_nothing(twilio_site: SiteFactory) -> None:
    async with twilio_site() as site:
        sid, greeting = await start_call(site)
        await say(site, sid, gather_action(greeting), speech="what is your return policy")
        params = site.client.call_params(sid, CallStatus="completed", CallDuration="42")
        first = await site.client.post("/twilio/voice/status", params)
        conversation = await site.store.conversation_by_key("voice", sid)
        assert conversation is not None
        ended_at = conversation.updated_at
        # Twilio retries a callback it got no timely answer to: the very same signed request.
        again = await site.client.post("/twilio/voice/status", params)
        assert (first.status, again.status) == (200, 200) and again.verbs() == []
        messages = await site.store.messages(conversation.id)
        notes = [m.text for m in messages if m.role == Role.SYSTEM.value]
        assert notes == ["Call ended (completed, 42 s)."]
        after = await site.store.conversation_by_key("voice", sid)
        assert after is not None and (after.state, after.updated_at) == ("resolved", ended_at)


async def test_a_call_ended_while_waiting_for_a_person_stays_in_the_queue(twilio_site: SiteFactory) -> None:
    async with twilio_site() as site:
        sid, greeting = await start_call(site)
        await say(site, sid, gather_action(greeting), speech="can I talk to a human please")
        await add_staff(site.settings, "alice", "Alice Ng")
        async with staff_client(site.base_url, "alice") as staff:
            socket = await staff.session.ws_connect(f"{site.base_url}/api/staff/ws")
            await site.client.voice("/twilio/voice/status", sid, CallStatus="completed", CallDuration="20")
            async with asyncio.timeout(5):
                while (event := await socket.receive_json())["type"] != "message":
                    pass
            await socket.close()
            assert event["message"]["text"] == "Call ended (completed, 20 s)."
            [item] = await staff.queue()
            assert item["state"] == "waiting"
        conversation = await site.store.conversation_by_key("voice", sid)
        assert conversation is not None and conversation.state == "waiting"


async def test_unknown_calls_and_bad_parameters_get_4xx_with_valid_twiml(twilio_site: SiteFactory) -> None:
    async with twilio_site() as site:
        stranger = call_sid()
        for path in ("/twilio/voice/gather?turn=1", "/twilio/voice/collect?turn=1&waited=8", "/twilio/voice/status"):
            answer = await site.client.voice(path, stranger, SpeechResult="hello")
            assert answer.status == 404 and answer.root.tag == "Response", path
        unknown = await site.client.voice("/twilio/voice/gather?turn=1", stranger, SpeechResult="hello")
        assert unknown.verbs() == ["Say", "Hangup"]
        no_sid = await site.client.post("/twilio/voice", {"From": CALLER, "To": "+15005550006"})
        assert no_sid.status == 400 and no_sid.root.tag == "Response"
        bad_sid = await site.client.post("/twilio/voice", {"CallSid": "CA-nope", "From": CALLER})
        assert bad_sid.status == 400
        sid, _ = await start_call(site)
        bad_turn = await site.client.voice("/twilio/voice/gather?turn=first", sid, SpeechResult="hi")
        assert bad_turn.status == 400 and bad_turn.root.tag == "Response"
        assert await site.store.conversation_by_key("voice", stranger) is None


async def test_with_conversation_relay_the_call_is_connected_to_the_socket(twilio_site: SiteFactory) -> None:
    async with twilio_site(voice={"relay": {"enabled": True}}) as site:
        sid, answer = await start_call(site)
        assert answer.verbs() == ["Connect"]
        connect = answer.find("Connect")
        assert connect.attrib["action"] == "/twilio/voice/relay-done"
        relay = answer.find("Connect/ConversationRelay")
        assert relay.attrib["url"] == "wss://switchboard.example.com/twilio/relay"
        assert relay.attrib["welcomeGreeting"] == to_speech(PERSONA.greeting)
        assert (relay.attrib["dtmfDetection"], relay.attrib["interruptible"]) == ("true", "any")


async def test_what_a_transfer_says_and_how_long_it_rings_come_from_the_config(twilio_site: SiteFactory) -> None:
    voice = {
        "transfer_number": STAFF_NUMBER,
        "transfer_timeout_s": 12,
        "unavailable_text": "Nobody is free; we will ring you back.",
    }
    async with twilio_site(voice=voice) as site:
        sid, greeting = await start_call(site)
        transfer = await say(site, sid, gather_action(greeting), digits="0")
        assert transfer.find("Dial").attrib["timeout"] == "12"
        nobody = await site.client.voice("/twilio/voice/transfer-done", sid, DialCallStatus="no-answer")
        assert nobody.said() == ["Nobody is free; we will ring you back."]
    async with twilio_site(voice={"callback_text": "We will call you back soon. Bye."}) as site:
        sid, greeting = await start_call(site)
        answer = await say(site, sid, gather_action(greeting), digits="0")
        assert answer.said() == ["We will call you back soon. Bye."]


async def test_a_caller_is_not_sent_notices_a_call_cannot_carry(twilio_site: SiteFactory) -> None:
    async with twilio_site(voice={"transfer_number": STAFF_NUMBER}) as site:
        sid, greeting = await start_call(site)
        await say(site, sid, gather_action(greeting), digits="0")
        await add_staff(site.settings, "alice", "Alice Ng")
        async with staff_client(site.base_url, "alice") as staff:
            [item] = await staff.queue()
            assert (await staff.act(item["conversation_id"], "claim"))[0] == 200
            assert (await staff.act(item["conversation_id"], "resolve"))[0] == 200
            detail = await staff.detail(item["conversation_id"])
        # The transcript shows what the caller heard; "Alice Ng has joined" was never said to them.
        assert not any("Alice Ng" in m["text"] for m in detail["messages"] if m["role"] == "system")
        assert detail["state"] == "resolved"


async def test_a_caller_nobody_claims_is_not_sent_the_waiting_notice(twilio_site: SiteFactory) -> None:
    async with twilio_site(voice={"transfer_number": STAFF_NUMBER}, escalation={"unclaimed_after_s": 0.3}) as site:
        sid, greeting = await start_call(site)
        await say(site, sid, gather_action(greeting), digits="0")
        await add_staff(site.settings, "alice", "Alice Ng")
        # The sweep marks the escalation as told even on a call: until it has, the absence of
        # a notice below would prove nothing.
        for _ in range(100):
            [escalation] = await site.database.run(lambda session: list(session.exec(select(Escalation)).all()))
            if escalation.unclaimed_notice_at is not None:
                break
            await asyncio.sleep(0.1)
        assert escalation.unclaimed_notice_at is not None, "the sweep never reached the call"
        async with staff_client(site.base_url, "alice") as staff:
            [item] = await staff.queue()
            detail = await staff.detail(item["conversation_id"])
        persona = load_persona(site.settings.persona)
        assert not any(persona.unclaimed in m["text"] for m in detail["messages"] if m["role"] == "system")
        assert detail["state"] == "waiting"

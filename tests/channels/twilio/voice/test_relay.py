"""A ConversationRelay session driven over a real WebSocket, with Twilio's message shapes."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import pytest
from twilio.request_validator import RequestValidator

from tests.channels.twilio.conftest import Site, SiteFactory, slow_model
from tests.support.fake_openai import FakeOpenAI
from tests.support.staff import add_staff, staff_client
from tests.support.twilio import CALLER, OUR_NUMBER, call_sid
from tests.support.fake_twilio import ACCOUNT_SID, AUTH_TOKEN

RELAY = {"relay": {"enabled": True}, "transfer_number": "+15005550123"}


@asynccontextmanager
async def relay_session(site: Site, sid: str) -> AsyncIterator[aiohttp.ClientWebSocketResponse]:
    url = site.base_url.replace("http://", "ws://") + "/twilio/relay"
    async with site.client.session.ws_connect(url, headers=site.client.relay_headers()) as socket:
        await socket.send_json(
            {
                "type": "setup",
                "sessionId": "VX" + uuid.uuid4().hex,
                "accountSid": ACCOUNT_SID,
                "parentCallSid": "",
                "callSid": sid,
                "from": CALLER,
                "to": OUR_NUMBER,
                "forwardedFrom": "",
                "callType": "PSTN",
                "callerName": "",
                "direction": "inbound",
                "callStatus": "RINGING",
                "customParameters": {},
            }
        )
        yield socket


async def answer(socket: aiohttp.ClientWebSocketResponse, timeout: float = 10) -> list[dict[str, Any]]:
    """Messages until a text token with last: true (or an end)."""
    received: list[dict[str, Any]] = []
    async with asyncio.timeout(timeout):
        while True:
            message = await socket.receive_json()
            received.append(message)
            if message["type"] == "end" or (message["type"] == "text" and message["last"]):
                return received


def spoken(messages: list[dict[str, Any]]) -> str:
    return "".join(m["token"] for m in messages if m["type"] == "text")


async def called(site: Site) -> str:
    sid = call_sid()
    start = await site.client.voice("/twilio/voice", sid)
    assert start.verbs() == ["Connect"]
    return sid


async def test_the_answer_streams_back_token_by_token(twilio_site: SiteFactory) -> None:
    async with twilio_site(voice=RELAY) as site:
        sid = await called(site)
        async with relay_session(site, sid) as socket:
            # Partial prompts are joined until the one marked last.
            await socket.send_json({"type": "prompt", "voicePrompt": "where is my order ", "lang": "en-US", "last": False})
            await socket.send_json({"type": "prompt", "voicePrompt": "NW-10482", "lang": "en-US", "last": True})
            tokens = await answer(socket)
        assert len(tokens) > 3 and all(t["type"] == "text" for t in tokens)
        assert [t["last"] for t in tokens] == [False] * (len(tokens) - 1) + [True]
        text = spoken(tokens)
        assert "N W, one zero four eight two" in text
        conversation = await site.store.conversation_by_key("voice", sid)
        assert conversation is not None
        messages = await site.store.messages(conversation.id)
        assert [(m.role, m.text) for m in messages] == [("customer", "where is my order NW-10482"), ("bot", text.strip())]


async def test_a_streamed_answer_is_spoken_a_sentence_at_a_time_while_it_is_written(
    twilio_site: SiteFactory, openai: FakeOpenAI
) -> None:
    written = "Your order **NW-10482** shipped on Monday. It should reach you by Friday. Anything else?"
    streamed = {
        "models": {
            "writer": {
                "provider": "openai",
                "base_url": openai.base_url,
                "model": "reply-" + written.replace(" ", "_") + "+chunk-delay-0.15",
            }
        },
        "routes": {route: {"chain": ["writer"]} for route in ("support", "sales", "lookup")},
    }
    async with twilio_site(voice={**RELAY, "turn_deadline_s": 5}, **streamed) as site:
        sid = await called(site)
        async with relay_session(site, sid) as socket:
            await socket.send_json({"type": "prompt", "voicePrompt": "where is my order", "lang": "en-US", "last": True})
            first = await socket.receive_json(timeout=5)
            # The first sentence is being spoken while the model is still writing the rest.
            conversation = await site.store.conversation_by_key("voice", sid)
            assert conversation is not None
            assert [m.role for m in await site.store.messages(conversation.id)] == ["customer"]
            tokens = [first, *await answer(socket)]
        text = spoken(tokens)
        assert [t["last"] for t in tokens] == [False] * (len(tokens) - 1) + [True]
        assert text.startswith("Your order N W, one zero four eight two shipped on Monday. It should")
        assert "*" not in text
        stored = [(m.role, m.text) for m in await site.store.messages(conversation.id)]
        assert stored == [("customer", "where is my order"), ("bot", text.strip())]


async def test_an_interruption_stops_a_streamed_answer_between_sentences(
    twilio_site: SiteFactory, openai: FakeOpenAI
) -> None:
    written = "Our tents are great. They sleep four people. They pack down small. They come in green."
    streamed = {
        "models": {
            "writer": {
                "provider": "openai",
                "base_url": openai.base_url,
                "model": "reply-" + written.replace(" ", "_") + "+chunk-delay-0.2",
            }
        },
        "routes": {route: {"chain": ["writer"]} for route in ("support", "sales", "lookup")},
    }
    async with twilio_site(voice={**RELAY, "turn_deadline_s": 5}, **streamed) as site:
        sid = await called(site)
        async with relay_session(site, sid) as socket:
            await socket.send_json({"type": "prompt", "voicePrompt": "tell me about tents", "lang": "en-US", "last": True})
            first = await socket.receive_json(timeout=5)
            assert first["token"].startswith("Our")
            await socket.send_json({"type": "interrupt", "utteranceUntilInterrupt": "Our", "durationUntilInterruptMs": 300})
            later: list[dict[str, Any]] = []
            with pytest.raises(asyncio.TimeoutError):
                while True:  # nothing more is said while the rest of the answer is written
                    later.append(await socket.receive_json(timeout=2.5))
            assert "four" not in spoken(later) and "green" not in spoken(later)
            conversation = await site.store.conversation_by_key("voice", sid)
            assert conversation is not None
            async with asyncio.timeout(5):  # the turn itself is finished and stored whole
                while len(stored := [(m.role, m.text) for m in await site.store.messages(conversation.id)]) < 2:
                    await asyncio.sleep(0.1)
            assert stored == [("customer", "tell me about tents"), ("bot", written)]


async def test_keypad_digits_are_collected_until_hash(twilio_site: SiteFactory) -> None:
    async with twilio_site(voice=RELAY) as site:
        sid = await called(site)
        async with relay_session(site, sid) as socket:
            for digit in "10482#":  # a 0 inside a number is a digit, not a request for a person
                await socket.send_json({"type": "dtmf", "digit": digit})
            tokens = await answer(socket)
        assert tokens[-1]["type"] == "text"
        conversation = await site.store.conversation_by_key("voice", sid)
        assert conversation is not None and conversation.state == "bot"
        assert (await site.store.messages(conversation.id))[0].text == "10482"


@pytest.mark.parametrize(
    "asks",
    [
        {"type": "dtmf", "digit": "0"},
        {"type": "prompt", "voicePrompt": "can I talk to a human please", "lang": "en-US", "last": True},
    ],
    ids=["pressing-0", "asking-by-speech"],
)
async def test_the_caller_is_handed_to_a_person(twilio_site: SiteFactory, asks: dict[str, object]) -> None:
    async with twilio_site(voice=RELAY) as site:
        sid = await called(site)
        async with relay_session(site, sid) as socket:
            await socket.send_json(asks)
            messages = await answer(socket)
            if messages[-1]["type"] != "end":
                messages += await answer(socket)
        assert spoken(messages) == "Connecting you to a member of our team now. Please hold."
        end = messages[-1]
        assert end["type"] == "end"
        handoff = json.loads(end["handoffData"])
        assert handoff["reason"] == "transfer"
        # Twilio then calls the <Connect> action with the handoff data: dial staff, no second announcement.
        after = await site.client.voice(
            "/twilio/voice/relay-done", sid, SessionStatus="ended", HandoffData=end["handoffData"], SessionDuration="12"
        )
        assert after.verbs() == ["Dial"] and after.said() == []
        await add_staff(site.settings, "alice", "Alice Ng")
        async with staff_client(site.base_url, "alice") as staff:
            [item] = await staff.queue()
            assert (item["conversation_id"], item["channel"]) == (handoff["conversation_id"], "voice")
            assert (item["state"], item["reason"]) == ("waiting", "customer_request")


async def test_an_interruption_stops_the_answer_but_keeps_the_turn(
    twilio_site: SiteFactory, openai: FakeOpenAI
) -> None:
    async with twilio_site(voice=RELAY, **slow_model(openai, 0.8)) as site:
        sid = await called(site)
        async with relay_session(site, sid) as socket:
            await socket.send_json({"type": "prompt", "voicePrompt": "tell me about tents", "last": True})
            await socket.send_json(
                {"type": "interrupt", "utteranceUntilInterrupt": "", "durationUntilInterruptMs": 300}
            )
            try:
                early = await asyncio.wait_for(socket.receive_json(), timeout=1.5)
            except asyncio.TimeoutError:
                early = None
            assert early is None  # the interrupted answer (ready after 0.8 s) is not spoken
            await socket.send_json({"type": "prompt", "voicePrompt": "and sleeping bags", "last": True})
            tokens = await answer(socket)
        assert spoken(tokens) == "echo: and sleeping bags"
        conversation = await site.store.conversation_by_key("voice", sid)
        assert conversation is not None
        texts = [m.text for m in await site.store.messages(conversation.id)]
        assert texts == ["tell me about tents", "echo: tell me about tents", "and sleeping bags", "echo: and sleeping bags"]


async def test_a_slow_answer_gets_a_filler_first(twilio_site: SiteFactory, openai: FakeOpenAI) -> None:
    async with twilio_site(voice={**RELAY, "turn_deadline_s": 0.3}, **slow_model(openai, 1.0)) as site:
        sid = await called(site)
        async with relay_session(site, sid) as socket:
            await socket.send_json({"type": "prompt", "voicePrompt": "do you sell stoves", "last": True})
            filler = await answer(socket)
            tokens = await answer(socket)
        assert spoken(filler) == "One moment while I check that."
        assert spoken(tokens) == "echo: do you sell stoves"


async def test_a_failed_relay_session_falls_back_to_the_webhook_loop(twilio_site: SiteFactory) -> None:
    async with twilio_site(voice=RELAY) as site:
        sid = await called(site)
        after = await site.client.voice("/twilio/voice/relay-done", sid, SessionStatus="failed", ErrorCode="64101")
        assert after.verbs() == ["Gather"]
        hung_up = await site.client.voice("/twilio/voice/relay-done", sid, SessionStatus="completed")
        assert hung_up.verbs() == ["Hangup"]


async def refused(socket: aiohttp.ClientWebSocketResponse) -> tuple[dict[str, Any], aiohttp.WSMessage]:
    """The `end` a refused session gets, then the close frame after it."""
    async with asyncio.timeout(5):
        end = await socket.receive_json()
        closing = await socket.receive()
    return end, closing


async def test_a_session_for_a_call_we_never_greeted_is_refused_and_stores_nothing(twilio_site: SiteFactory) -> None:
    async with twilio_site(voice=RELAY) as site:
        stranger = call_sid()  # signed by Twilio, but the voice webhook never saw this call
        async with relay_session(site, stranger) as socket:
            await socket.send_json({"type": "prompt", "voicePrompt": "where is my order", "last": True})
            end, closing = await refused(socket)
        assert end["type"] == "end" and json.loads(end["handoffData"]) == {"reason": "refused", "error": "unknown call"}
        assert (closing.type, closing.data, closing.extra) == (aiohttp.WSMsgType.CLOSE, 4404, "unknown call")
        assert await site.store.conversation_by_key("voice", stranger) is None
        # Twilio then calls the <Connect> action: a call we do not know hears a goodbye.
        after = await site.client.voice("/twilio/voice/relay-done", stranger, SessionStatus="ended", HandoffData=end["handoffData"])
        assert after.status == 404 and after.verbs()[-1] == "Hangup"


async def test_a_session_without_a_call_sid_is_refused(twilio_site: SiteFactory) -> None:
    async with twilio_site(voice=RELAY) as site:
        async with relay_session(site, "") as socket:
            await socket.send_json({"type": "prompt", "voicePrompt": "hello", "last": True})
            end, closing = await refused(socket)
        assert json.loads(end["handoffData"]) == {"reason": "refused", "error": "setup without callSid"}
        assert (closing.data, closing.extra) == (4400, "setup without callSid")
        assert await site.store.conversation_by_key("voice", "") is None


async def test_a_second_setup_cannot_move_a_session_to_another_call(twilio_site: SiteFactory) -> None:
    async with twilio_site(voice=RELAY) as site:
        sid, other = await called(site), await called(site)
        async with relay_session(site, sid) as socket:
            await socket.send_json({"type": "setup", "sessionId": "VX2", "callSid": other, "from": CALLER})
            await socket.send_json({"type": "prompt", "voicePrompt": "what is your return policy", "last": True})
            assert spoken(await answer(socket))
        mine, theirs = [await site.store.conversation_by_key("voice", key) for key in (sid, other)]
        assert mine is not None and theirs is not None
        assert len(await site.store.messages(mine.id)) == 2 and await site.store.messages(theirs.id) == []


async def test_after_a_failed_relay_session_the_webhook_loop_answers_its_first_turn(twilio_site: SiteFactory) -> None:
    async with twilio_site(voice=RELAY) as site:
        sid = await called(site)
        url = site.base_url.replace("http://", "ws://") + "/twilio/relay"
        async with site.client.session.ws_connect(url, headers=site.client.relay_headers()) as socket:
            # No sessionId: the session's turns are numbered after the call alone, as the loop's are.
            await socket.send_json({"type": "setup", "callSid": sid, "from": CALLER})
            await socket.send_json({"type": "prompt", "voicePrompt": "what is your return policy", "last": True})
            assert spoken(await answer(socket))
        failed = await site.client.voice("/twilio/voice/relay-done", sid, SessionStatus="failed", ErrorCode="64101")
        action = failed.find("Gather").attrib["action"]
        assert action.startswith("/twilio/voice/gather?turn=1")
        turn = await site.client.voice(action, sid, SpeechResult="where is my order NW-10482", Confidence="0.9")
        assert turn.verbs() == ["Gather"]
        assert "N W, one zero four eight two" in turn.said()[0]
        conversation = await site.store.conversation_by_key("voice", sid)
        assert conversation is not None
        said_by_caller = [m.text for m in await site.store.messages(conversation.id) if m.role == "customer"]
        assert said_by_caller == ["what is your return policy", "where is my order NW-10482"]


async def test_without_relay_there_is_no_relay_socket(twilio_site: SiteFactory) -> None:
    async with twilio_site() as site:
        sid = call_sid()
        greeting = await site.client.voice("/twilio/voice", sid)
        assert greeting.verbs() == ["Gather"]  # a call greeted by the webhook loop, correctly signed below
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused_handshake:
            async with relay_session(site, sid):
                pass
        assert refused_handshake.value.status == 404


async def test_the_handshake_is_checked_against_the_configured_relay_url(twilio_site: SiteFactory) -> None:
    relay_url = "wss://voice.example.net/twilio/relay"
    async with twilio_site(voice={"relay": {"enabled": True, "url": relay_url}}) as site:
        sid = await called(site)
        local = site.base_url.replace("http://", "ws://") + "/twilio/relay"
        signed = {"X-Twilio-Signature": RequestValidator(AUTH_TOKEN).compute_signature(relay_url, {})}
        async with site.client.session.ws_connect(local, headers=signed) as socket:
            await socket.send_json({"type": "setup", "sessionId": "VX1", "callSid": sid, "from": CALLER})
            await socket.send_json({"type": "prompt", "voicePrompt": "what is your return policy", "last": True})
            assert spoken(await answer(socket))
        # Signed for the public URL instead: refused.
        with pytest.raises(aiohttp.WSServerHandshakeError):
            async with site.client.session.ws_connect(local, headers=site.client.relay_headers()):
                pass


async def test_a_frame_nested_too_deep_is_dropped_and_the_call_goes_on(twilio_site: SiteFactory) -> None:
    async with twilio_site(voice=RELAY) as site:
        sid = await called(site)
        async with relay_session(site, sid) as socket:
            await socket.send_str("[" * 30_000 + "]" * 30_000)
            await socket.send_json({"type": "prompt", "voicePrompt": "where is my order NW-10482", "lang": "en-US", "last": True})
            tokens = await answer(socket)
        assert "N W, one zero four eight two" in spoken(tokens)

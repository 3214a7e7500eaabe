"""Every Twilio endpoint checks X-Twilio-Signature: a wrong one is a 403 and nothing is stored."""

from __future__ import annotations

import aiohttp
import pytest
from sqlmodel import select

from agent.store.tables import Conversation, Message
from tests.channels.twilio.conftest import Site, SiteFactory
from tests.support.twilio import CUSTOMER, OUR_NUMBER, TwilioClient, call_sid, message_sid

WEBHOOKS = [
    "/twilio/sms",
    "/twilio/voice",
    "/twilio/voice/gather?turn=1&silence=0",
    "/twilio/voice/collect?turn=1&waited=8",
    "/twilio/voice/transfer-done",
    "/twilio/voice/relay-done",
    "/twilio/voice/status",
]


async def stored(site: Site) -> tuple[int, int]:
    def count(session):  # type: ignore[no-untyped-def]
        return len(session.exec(select(Conversation)).all()), len(session.exec(select(Message)).all())

    return await site.database.run(count)


def params() -> dict[str, str]:
    return {
        "MessageSid": message_sid(),
        "CallSid": call_sid(),
        "From": CUSTOMER,
        "To": OUR_NUMBER,
        "Body": "where is my order NW-10482?",
        "SpeechResult": "where is my order",
        "CallStatus": "completed",
    }


@pytest.mark.parametrize("path", WEBHOOKS)
async def test_a_wrong_or_missing_signature_is_refused(twilio_site: SiteFactory, path: str) -> None:
    async with twilio_site() as site:
        body = params()
        other_token = site.client.signature(path, body, token="not-the-auth-token")
        tampered = site.client.signature(path, {**body, "Body": "something else"})
        for signature in (other_token, tampered, ""):
            answer = await site.client.post(path, body, signature=signature)
            assert answer.status == 403 and answer.root.tag == "Response" and answer.verbs() == []
        assert await stored(site) == (0, 0)


async def test_behind_a_proxy_the_public_url_is_what_twilio_signed(twilio_site: SiteFactory) -> None:
    async with twilio_site(public_url="https://switchboard.example.com") as site:
        body = params()
        # Signed for the address this server listens on, not the public one Twilio used: refused.
        local = TwilioClient(site.client.session, site.base_url, public_url=None)
        assert (await local.post("/twilio/sms", body)).status == 403
        assert (await site.client.post("/twilio/sms", body)).status == 200
        assert await stored(site) == (1, 2)


async def test_without_a_public_url_the_request_url_is_used(twilio_site: SiteFactory) -> None:
    async with twilio_site(public_url=None) as site:
        assert (await site.client.sms("hi there")).status == 200


async def test_the_relay_socket_refuses_an_unsigned_handshake(twilio_site: SiteFactory) -> None:
    async with twilio_site(voice={"relay": {"enabled": True}}) as site:
        url = site.base_url.replace("http://", "ws://") + "/twilio/relay"
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            async with site.client.session.ws_connect(url, headers={"X-Twilio-Signature": "bogus"}):
                pass
        assert refused.value.status == 403


async def test_twilio_is_off_without_credentials(server: str) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{server}/twilio/sms", data=params()) as response:
            assert response.status == 404

"""Texts sent while a slow model answers: each one gets its own answer, in order."""

from __future__ import annotations

import asyncio

from tests.channels.twilio.conftest import SiteFactory, slow_model
from tests.support.fake_openai import FakeOpenAI

QUESTIONS = ["where is my order NW-10482?", "what is your return policy", "how much is the Ridgeline boot?"]


async def test_each_queued_text_is_answered_with_its_own_answer_in_order(twilio_site: SiteFactory, openai: FakeOpenAI) -> None:
    # Answers later than the webhook waits: every one goes out through the outbox.
    async with twilio_site(sms={"inline_deadline_s": 0.1}, **slow_model(openai, 1.0)) as site:
        sends = []
        for text in QUESTIONS:
            sends.append(asyncio.create_task(site.client.sms(text)))
            await asyncio.sleep(0.2)
        assert [twiml.status for twiml in await asyncio.gather(*sends)] == [200] * len(QUESTIONS)
        sent = await site.fake.wait_for(len(QUESTIONS))
    assert [m["Body"] for m in sent] == [f"echo: {text}" for text in QUESTIONS]
    assert [r["body"]["messages"][-1]["content"] for r in openai.requests] == QUESTIONS

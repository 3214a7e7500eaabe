"""A question about the bot is answered as the persona says; a request for a person still escalates.

The phrasings below are held out: none of them is an example in the intents file.
"""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest

from agent.escalation.policy import EscalationPolicy
from agent.routing import Router
from agent.routing.intents import load_intents
from agent.app.manager import build_router
from agent.settings import load_settings
from personas import load_persona
from tests.conftest import SettingsFactory
from tests.support.client import new_visitor
from tests.support.server import running_server

ABOUT_THE_BOT = [
    "are you a real person?",
    "am I talking to a bot?",
    "are you a bot",
    "are you human?",
    "is this a real person or a bot",
    "am i chatting with a real human",
    "are you an AI?",
    "is this an automated chat",
    "r u a robot",
    "wait, are you a person or a machine?",
    "am i speaking to a real person right now",
    "is this a bot i'm talking to",
    "are you real",
    "who am i talking to",
    "are you a human or a computer",
    "Hi! Is this a live person?",
]
ASKING_FOR_A_PERSON = [
    "can I talk to a real person",
    "I want a human",
    "are you a bot? I want a real person",
    "i don't want a bot, get me a real person",
    "let me talk to a human please",
    "is there a real person I can talk to",
    "can i speak to an actual human",
    "put me through to a real person",
    "I'd like to talk to someone, not a bot",
    "get me a human",
]
INTENTS = Path(__file__).resolve().parents[2] / "agent" / "demo" / "intents.yaml"


@pytest.fixture(scope="module")
def router(tmp_path_factory: pytest.TempPathFactory) -> Router:
    return build_router(load_settings(data_dir=str(tmp_path_factory.mktemp("data"))))


def test_the_phrasings_are_held_out() -> None:
    catalog = load_intents(INTENTS, {"support", "sales", "lookup"})
    learnt = {example.lower() for intent in catalog.intents.values() for example in intent.examples}
    assert not {text.lower() for text in ABOUT_THE_BOT + ASKING_FOR_A_PERSON} & learnt


@pytest.mark.parametrize("text", ABOUT_THE_BOT)
def test_a_question_about_the_bot_is_not_a_request_for_a_person(router: Router, text: str) -> None:
    assert router.classify(text).name == "bot_identity"
    policy = EscalationPolicy(["human_handoff"], ["real person", "human", "bot"], identity_intents=["bot_identity"])
    assert not policy.before_model(text, "bot_identity").escalate


@pytest.mark.parametrize("text", ASKING_FOR_A_PERSON)
def test_asking_for_a_person_still_escalates(router: Router, text: str) -> None:
    intent = router.classify(text)
    assert intent.name == "human_handoff"
    assert EscalationPolicy(["human_handoff"], []).before_model(text, intent.name).escalate


async def test_the_customer_gets_the_personas_answer_and_keeps_the_bot(make_settings: SettingsFactory) -> None:
    persona = load_persona("demo")
    async with running_server(make_settings()) as (base_url, _app), aiohttp.ClientSession() as session:
        visitor = await new_visitor(session, base_url)
        answered = await visitor.send("are you a real person?")
        assert answered["reply"]["text"] == persona.identity and "Sam" in persona.identity
        assert answered["reply"]["escalated"] is False and answered["state"] == "bot"
        asked = await visitor.send("can I talk to a real person")
        assert asked["reply"]["escalated"] is True and asked["state"] == "waiting"

"""Automatic escalation triggers: frustration, sensitive topics, a bot repeating itself."""

from __future__ import annotations

import aiohttp
import pytest

from agent.escalation import EscalationPolicy, History, Triggers
from agent.escalation.signals import frustration, repeats, sensitive_topic
from agent.store import Database, ConversationStore
from personas import load_persona
from tests.conftest import SettingsFactory
from tests.support.client import new_visitor
from tests.support.server import running_server


@pytest.mark.parametrize(
    ("text", "earlier", "low", "high"),
    [
        ("where is my order", [], 0.0, 0.0),
        ("WHERE IS MY ORDER", [], 0.4, 0.4),
        ("this is ridiculous!! worst service ever", [], 0.7, 1.0),
        ("where is my order", ["where is my order?"], 0.4, 0.4),
        ("WHY IS NOBODY ANSWERING, this is useless!!", ["hello"], 0.9, 1.0),
    ],
)
def test_frustration_score(text: str, earlier: list[str], low: float, high: float) -> None:
    assert low <= frustration(text, earlier) <= high


def test_sensitive_topics_match_whole_phrases() -> None:
    topics = {"legal": ["lawyer", "legal action"], "safety": ["injured"]}
    assert sensitive_topic("my LAWYER will hear about this", topics) == "legal"
    assert sensitive_topic("I was injured by the stove", topics) == "safety"
    assert sensitive_topic("the lawyers' favourite boot", topics) is None  # whole words only
    assert sensitive_topic("where is my order", topics) is None


def test_repeating_means_a_third_time_in_a_row() -> None:
    assert repeats("Order NW-1 has shipped.", ["Hi!", "Order NW-1 has shipped.", "order nw 1 has shipped"])
    assert not repeats("Order NW-1 has shipped.", ["Hi!", "Order NW-1 has shipped."])
    assert not repeats("Order NW-1 has shipped.", ["Order NW-1 has shipped.", "Hi!", "Order NW-1 has shipped."])


def test_policy_order_and_switches() -> None:
    policy = EscalationPolicy(["human_handoff"], [], triggers=Triggers(0.7, {"legal": ["sue you"]}, on_repeat=True))
    assert policy.before_model("I will sue you", "complaint").reason == "sensitive_topic"
    assert policy.before_model("THIS IS USELESS!!", "complaint").reason == "frustration"
    assert not policy.before_model("where is my order", "order_status").escalate
    assert policy.after_model(True, [], "same", History(bot=["same", "same"])).reason == "bot_repeating"
    assert not EscalationPolicy([], []).after_model(True, [], "same", History(bot=["same", "same"])).escalate
    assert not EscalationPolicy([], [], triggers=Triggers()).before_model("THIS IS USELESS!!", "x").escalate


async def _reasons(settings, texts: list[str]) -> tuple[list[dict], list[str]]:  # type: ignore[no-untyped-def]
    async with running_server(settings) as (base_url, _app), aiohttp.ClientSession() as session:
        visitor = await new_visitor(session, base_url)
        replies = [await visitor.send(text) for text in texts]
        store = ConversationStore(Database(settings.database_url))
        reasons = [e.reason for e in await store.escalations(visitor.conversation_id)]
        await store.close()
    return replies, reasons


async def test_a_frustrated_customer_reaches_a_person(make_settings: SettingsFactory) -> None:
    replies, reasons = await _reasons(make_settings(), ["where is my order NW-10482", "THIS IS RIDICULOUS, WHERE IS IT!!"])
    assert [r["reply"]["escalated"] for r in replies] == [False, True]
    assert reasons == ["frustration"]


async def test_a_sensitive_topic_reaches_a_person(make_settings: SettingsFactory) -> None:
    replies, reasons = await _reasons(make_settings(), ["the stove caught fire on first use"])
    assert replies[0]["reply"]["escalated"] is True
    assert replies[0]["reply"]["text"] == load_persona("demo").escalation
    assert reasons == ["sensitive_topic"]


async def test_the_bot_does_not_send_the_same_answer_again(make_settings: SettingsFactory) -> None:
    asks = ["what is your return policy", "ok but what is the return policy", "and the returns policy is?"]
    replies, reasons = await _reasons(make_settings(), asks)
    assert [r["reply"]["escalated"] for r in replies] == [False, False, True]
    assert replies[1]["reply"]["text"] == replies[0]["reply"]["text"]  # twice can be right
    assert replies[2]["reply"]["text"] == load_persona("demo").escalation
    assert reasons == ["bot_repeating"]

"""The turn's stages, each run on its own over a real store, router, models and persona."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest

from agent.app.manager import build_manager
from agent.contracts import InboundMessage
from agent.conversation import TURN, ConversationManager, TurnContext
from agent.conversation.stages import answer, escalate_after, escalate_before, load, record, route
from agent.store import Database, ConversationStore
from agent.store.migrate import upgrade
from tests.conftest import SettingsFactory


@pytest.fixture
async def manager(make_settings: SettingsFactory) -> AsyncIterator[ConversationManager]:
    settings = make_settings()
    await asyncio.to_thread(upgrade, settings.database_url)
    store = ConversationStore(Database(settings.database_url))
    async with httpx.AsyncClient() as client:
        yield build_manager(settings, store, client)
    await store.close()


async def loaded(manager: ConversationManager, channel: str, text: str) -> TurnContext:
    """A stored customer message and its turn, loaded: what the stages after `load` start from."""
    conversation = await manager.store.create_conversation(channel, f"{channel}-key", "customer")
    inbound = InboundMessage(channel, "customer", f"{channel}-key", text, conversation_id=conversation.id)
    saved = await manager.store.save_inbound(inbound)
    turn = TurnContext(inbound, conversation.id, saved.message, manager.parts.traits(channel))
    assert await load(turn, manager.parts) is None
    return turn


def test_the_turn_runs_in_the_documented_order() -> None:
    names = [stage.__qualname__ for stage in TURN]
    assert names == ["load", "relay_to_staff", "typing(settle, route, escalate_before, retrieve, answer, escalate_after, record)", "deliver"]


async def test_load_sees_the_conversation_up_to_this_message(manager: ConversationManager) -> None:
    turn = await loaded(manager, "web", "where is my order NW-10482?")
    assert [m.text for m in turn.recent] == ["where is my order NW-10482?"]
    assert turn.conversation is not None and turn.conversation.id == turn.conversation_id


async def test_asking_for_a_person_decides_before_any_model_runs(manager: ConversationManager) -> None:
    turn = await loaded(manager, "web", "I want to talk to a human please")
    for stage in (route, escalate_before, answer, escalate_after):
        assert await stage(turn, manager.parts) is None
    assert turn.decision.escalate
    assert turn.reply_text == manager.persona.escalation
    assert turn.chain.attempts == []  # `answer` ran no model
    assert turn.turn is None  # nothing is stored before `record`


async def test_an_answer_is_fitted_to_the_channel_and_stored_by_record(manager: ConversationManager) -> None:
    turn = await loaded(manager, "voice", "how much is the Ridgeline boot?")
    for stage in (route, escalate_before, answer, escalate_after):
        await stage(turn, manager.parts)
    assert turn.intent is not None and turn.intent.route == "sales"
    assert [a.model for a in turn.chain.attempts] == ["local"]
    written = turn.chain.result.text if turn.chain.result else ""
    assert "$149.00" in written
    assert turn.reply_text and "one hundred forty-nine dollars" in turn.reply_text  # rendered to be spoken
    assert await manager.store.turns(turn.conversation_id) == []
    await record(turn, manager.parts)
    assert turn.turn is not None and turn.turn.outcome == "answered"
    assert turn.reply is not None and turn.reply.text == turn.reply_text
    assert [t.id for t in await manager.store.turns(turn.conversation_id)] == [turn.turn.id]

"""Conversations through the real server on the shipped configuration: the local model, the demo
store served beside the agent, web chat over HTTP. A cancellation runs on the customer's yes
and on nothing else; failed proofs of identity end with a person."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
import structlog

from agent.app import keys
from agent.contracts import ToolOutcome
from agent.settings import Settings
from agent.store import ConversationStore
from tests.conftest import SettingsFactory
from tests.support.client import Visitor, new_visitor
from tests.support.server import running_server

ORDER, EMAIL = "NW-10497", "marcus.lee@example.com"  # processing: it can still be cancelled
QUESTION = "Cancel order NW-10497 (1 × Basecamp 2 Backpacking Tent, 1 × Drift Insulated Sleeping Pad) and refund $398.00"


@dataclass
class Chat:
    visitor: Visitor
    store_url: str  # the demo store this server serves
    conversations: ConversationStore

    async def say(self, text: str) -> dict[str, Any]:
        return (await self.visitor.send(text))["reply"]

    async def order(self) -> dict[str, Any]:
        async with self.visitor.session.get(f"{self.store_url}/api/orders/{ORDER}") as response:
            assert response.status == 200
            return await response.json()

    async def tool_calls(self) -> list[tuple[str, ToolOutcome, str | None]]:
        turns = await self.conversations.turns(self.visitor.conversation_id)
        return [(c.tool, c.outcome, c.confirmation) for t in turns for c in t.tool_calls]


@asynccontextmanager
async def chat_on(settings: Settings) -> AsyncIterator[Chat]:
    with structlog.testing.capture_logs() as events:
        async with running_server(settings) as (base_url, app):
            [store_url] = [e["url"] for e in events if e["event"] == "demo_store_serving"]
            async with aiohttp.ClientSession() as session:
                yield Chat(await new_visitor(session, base_url), store_url, app[keys.STORE])


@pytest.fixture
async def chat(make_settings: SettingsFactory) -> AsyncIterator[Chat]:
    async with chat_on(make_settings()) as chat:
        yield chat


async def asked_to_cancel(chat: Chat) -> None:
    first = await chat.say(f"I want to cancel order {ORDER}")
    assert "what's the email address or postcode on the order?" in first["text"]
    question = await chat.say(EMAIL)
    assert question["text"].startswith(QUESTION), question["text"]
    assert (await chat.order())["status"] == "processing"  # asked, not done


async def test_a_cancellation_runs_on_the_customers_yes(chat: Chat) -> None:
    await asked_to_cancel(chat)
    done = await chat.say("yes")
    assert done["text"].startswith(f"Done: order {ORDER} is cancelled. A refund of $398.00"), done["text"]
    order = await chat.order()
    assert (order["status"], order["eta"]) == ("cancelled", None)
    assert await chat.tool_calls() == [
        ("cancel_order", ToolOutcome.NEEDS_VERIFICATION, None),
        ("verify_customer", ToolOutcome.OK, None),
        ("cancel_order", ToolOutcome.NEEDS_CONFIRMATION, "asked"),
        ("cancel_order", ToolOutcome.OK, "confirmed"),
    ]
    turns = await chat.conversations.turns(chat.visitor.conversation_id)
    verify = turns[1].tool_calls[0]
    assert verify.arguments == {"order_id": ORDER, "email": "[redacted]"}  # the proof is not kept


async def test_a_no_leaves_the_order_as_it_is(chat: Chat) -> None:
    await asked_to_cancel(chat)
    declined = await chat.say("no")
    assert "left it as it is" in declined["text"]
    assert (await chat.order())["status"] == "processing"
    assert (await chat.tool_calls())[-1] == ("cancel_order", ToolOutcome.DECLINED, "declined")
    later = await chat.say("yes")  # nothing is waiting any more
    assert "cancelled" not in later["text"]
    assert (await chat.order())["status"] == "processing"


async def test_another_message_drops_the_waiting_change(chat: Chat) -> None:
    await asked_to_cancel(chat)
    other = await chat.say("what time do you close on Saturdays?")
    assert not other["text"].startswith("Done")
    assert (await chat.tool_calls())[-1] == ("cancel_order", ToolOutcome.DECLINED, "declined")
    for text in ("yes", "yes please"):
        reply = await chat.say(text)
        assert "cancelled" not in reply["text"], reply["text"]
    assert (await chat.order())["status"] == "processing"
    assert [c for c in await chat.tool_calls() if c[1] is ToolOutcome.OK and c[0] == "cancel_order"] == []


@pytest.mark.parametrize("max_attempts", [2, 3])
async def test_failed_proofs_hand_over_to_a_person_at_max_attempts(make_settings: SettingsFactory, max_attempts: int) -> None:
    settings = make_settings(verification={"tool": "check_identity", "max_attempts": max_attempts})
    async with chat_on(settings) as chat:
        first = await chat.say(f"where is my order {ORDER}?")
        assert first["escalated"] is False
        proofs = [f"wrong{n}@example.com" for n in range(1, max_attempts + 1)]
        for proof in proofs[:-1]:
            reply = await chat.say(proof)
            assert reply["escalated"] is False and "doesn't match" in reply["text"], reply["text"]
        last = await chat.say(proofs[-1])
        assert last["escalated"] is True, last["text"]
        [escalation] = await chat.conversations.escalations(chat.visitor.conversation_id)
        assert (escalation.reason, escalation.detail) == ("model_request", "identity could not be verified")
        verifies = [c for c in await chat.tool_calls() if c[0] == "verify_customer"]
        assert len(verifies) == max_attempts
        conversation = await chat.conversations.get_conversation(chat.visitor.conversation_id)
        assert conversation is not None and conversation.verified_customer is None

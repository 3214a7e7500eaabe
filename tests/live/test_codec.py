"""Live events cross processes as the same views: every kind published survives the Redis codec,
and a page or console served by another process gets the very JSON a local one gets."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest

from agent.contracts import (
    STAFF_TOPIC,
    ConversationEvent,
    ConversationState,
    EscalationView,
    MessageView,
    NoteView,
    Role,
    Source,
    StaffMember,
    StaffRole,
)
from agent.live import codec
from tests.conftest import SettingsFactory
from tests.support.client import new_visitor
from tests.support.server import running_server
from tests.support.services import cluster_settings
from tests.support.staff import add_staff, staff_client

AT = datetime(2024, 5, 1, 12, 30, 15, 123456, tzinfo=UTC)
ALICE = StaffMember(7, "alice", "Alice Ng", StaffRole.ADMIN)
STAFF_MESSAGE = MessageView(12, Role.STAFF, "Alice here.", AT, "Alice Ng", "c" * 32, "client-1")
CONVERSATION = "c" * 32
WARRANTY = Source("4:1", "Warranty and repairs", "Broken tent poles", "warranty.md", "https://shop.example/help/warranty", 18.4)
CITED = MessageView(13, Role.BOT, "It is replaced free.", AT, None, CONVERSATION, None, (WARRANTY,))

# One of each event the manager and the handoff publish, with each view and enum they carry.
PUBLISHED = [
    ConversationEvent("message", CONVERSATION, {"message": MessageView(11, Role.CUSTOMER, "a person please", AT)}),
    ConversationEvent("message", CONVERSATION, {"message": STAFF_MESSAGE}),
    # A bot answer carries its sources twice: on the message, as a tuple, and beside it, as a list.
    ConversationEvent("message", CONVERSATION, {"message": CITED, "sources": list(CITED.sources)}),
    ConversationEvent("message", STAFF_TOPIC, {"conversation_id": CONVERSATION, "message": STAFF_MESSAGE}),
    ConversationEvent("typing", CONVERSATION, {"active": True}),
    ConversationEvent("delta", CONVERSATION, {"text": "Your order "}),
    ConversationEvent("delta_reset", CONVERSATION, {}),
    ConversationEvent("state", CONVERSATION, {"state": ConversationState.WITH_HUMAN}),
    ConversationEvent(
        "escalation", STAFF_TOPIC, {"conversation_id": CONVERSATION, "channel": "web", "reason": "customer_request", "detail": None}
    ),
    ConversationEvent(
        "note", STAFF_TOPIC, {"conversation_id": CONVERSATION, "note": NoteView(3, CONVERSATION, "Alice Ng", "private", AT)}
    ),
    ConversationEvent(
        "queue",
        STAFF_TOPIC,
        {"conversation_id": CONVERSATION, "state": ConversationState.WITH_HUMAN, "claimed_by": ALICE, "by": ALICE},
    ),
    ConversationEvent("queue", STAFF_TOPIC, {"conversation_id": CONVERSATION, "state": ConversationState.BOT, "claimed_by": None, "by": None}),
]


@pytest.mark.parametrize("event", PUBLISHED, ids=lambda e: f"{e.type}-{'staff' if e.conversation_id == STAFF_TOPIC else 'chat'}")
def test_every_published_event_comes_back_as_it_went(event: ConversationEvent) -> None:
    # Through JSON text, as Redis carries it.
    decoded = codec.decode(json.loads(json.dumps(codec.encode(event))))
    assert decoded == event
    # The states and roles are str enums, equal to their values: repr tells a string that was an enum apart.
    assert repr(decoded) == repr(event)


def test_a_view_no_event_carries_is_refused_when_published() -> None:
    escalation = EscalationView(1, "customer_request", None, "open", AT)
    with pytest.raises(TypeError, match="EscalationView"):
        codec.encode(ConversationEvent("escalation", STAFF_TOPIC, {"escalation": escalation}))


def test_an_unknown_view_from_another_version_is_unreadable() -> None:
    payload = {"type": "message", "topic": CONVERSATION, "data": {"message": {"$view": "Postcard", "id": 1}}}
    with pytest.raises(KeyError):
        codec.decode(payload)


async def frames(socket: aiohttp.ClientWebSocketResponse, last: Callable[[dict[str, Any]], bool]) -> list[dict[str, Any]]:
    """Every frame up to and including the one `last` picks."""
    received: list[dict[str, Any]] = []
    async with asyncio.timeout(10):
        while not received or not last(received[-1]):
            received.append(await socket.receive_json())
    return received


def resolved(frame: dict[str, Any]) -> bool:
    return frame.get("state") == "resolved" and frame["type"] in ("state", "queue")


async def test_a_page_and_a_console_on_another_process_get_what_local_ones_get(make_settings: SettingsFactory) -> None:
    async with (
        cluster_settings(make_settings) as settings,
        running_server(settings) as (first, _a),
        running_server(settings) as (second, _b),
    ):
        await add_staff(settings, "alice", "Alice Ng")
        async with (
            aiohttp.ClientSession() as http,
            staff_client(first, "alice") as alice,
            staff_client(second, "alice") as watching,
        ):
            visitor = await new_visitor(http, first)
            chat_path = f"/api/conversations/{visitor.conversation_id}/ws?token={visitor.token}"
            chats = [await http.ws_connect(f"{base}{chat_path}") for base in (first, second)]
            consoles = [await client.session.ws_connect(f"{client.base_url}/api/staff/ws") for client in (alice, watching)]

            # Everything happens on the first process: the second sees it only through Redis.
            conversation_id = visitor.conversation_id
            assert (await visitor.send("can I talk to a human please"))["state"] == "waiting"
            assert (await alice.act(conversation_id, "claim"))[0] == 200
            assert (await alice.act(conversation_id, "notes", text="a private note"))[0] == 201
            assert (await alice.act(conversation_id, "reply", text="Alice here."))[0] == 200
            assert (await alice.act(conversation_id, "resolve"))[0] == 200

            local_chat, relayed_chat = [await frames(socket, resolved) for socket in chats]
            local_console, relayed_console = [await frames(socket, resolved) for socket in consoles]
            for socket in (*chats, *consoles):
                await socket.close()

    assert relayed_chat == local_chat
    assert relayed_console == local_console
    # What was compared holds every view the events carry, rendered.
    kinds = {frame["type"] for frame in local_console}
    assert {"escalation", "message", "note", "queue"} <= kinds
    claimed = next(frame for frame in local_console if frame["type"] == "queue")
    assert claimed["state"] == "with_human"
    assert claimed["claimed_by"]["username"] == claimed["by"]["username"] == "alice"
    note = next(frame for frame in local_console if frame["type"] == "note")
    assert note["note"]["text"] == "a private note" and note["note"]["created_at"]
    staff_reply = next(f for f in local_chat if f["type"] == "message" and f["message"]["role"] == "staff")
    assert set(staff_reply["message"]) == {"id", "role", "text", "author", "created_at"}
    assert {"message", "state", "typing"} <= {frame["type"] for frame in local_chat}

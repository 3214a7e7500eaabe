"""The web chat HTTP API and WebSocket, driven over real HTTP against the running server."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.support.client import Visitor, new_visitor
from tests.support.knowledge import help_centre, knowledge_settings
from tests.support.server import running_server


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
async def visitor(server: str, session: aiohttp.ClientSession) -> Visitor:
    return await new_visitor(session, server)


async def test_health(server: str, session: aiohttp.ClientSession) -> None:
    async with session.get(f"{server}/healthz") as response:
        assert response.status == 200
        assert (await response.json()) == {"status": "ok"}


async def test_a_turn_answers_and_is_stored(visitor: Visitor) -> None:
    body = await visitor.send("where is my order NW-10482?")
    reply = body["reply"]
    assert reply["route"] == "lookup"
    assert reply["model"] == "local"
    assert reply["escalated"] is False
    # The order's details are the customer's: the bot asks who they are before showing them.
    assert "NW-10482" in reply["text"] and "shipped" not in reply["text"] and "email address" in reply["text"]
    proved = (await visitor.send("it's ana@example.com"))["reply"]
    assert "NW-10482" in proved["text"] and "shipped" in proved["text"]
    history = await visitor.history()
    assert [(m["role"], m["text"]) for m in history["messages"]] == [
        ("customer", "where is my order NW-10482?"),
        ("bot", reply["text"]),
        ("customer", "it's ana@example.com"),
        ("bot", proved["text"]),
    ]
    assert history["state"] == "bot"
    # `after` returns only what came later
    later = await visitor.history(after=history["messages"][0]["id"])
    assert [m["role"] for m in later["messages"]] == ["bot", "customer", "bot"]


async def test_follow_up_uses_the_order_number_given_earlier(visitor: Visitor) -> None:
    await visitor.send("hi, my order number is NW-10517")
    body = await visitor.send("where is my order?")
    assert "NW-10517" in body["reply"]["text"]


async def test_asking_for_a_person_escalates_and_the_bot_goes_quiet(visitor: Visitor) -> None:
    body = await visitor.send("I want to talk to a human")
    assert body["reply"]["escalated"] is True
    assert body["state"] == "waiting"
    assert "team" in body["reply"]["text"].lower()

    first = await visitor.send("hello? anyone there?")
    assert first["reply"]["route"] is None and first["reply"]["model"] is None
    assert first["reply"]["escalated"] is True
    assert first["reply"]["message"]["role"] == "system"  # told once that it was passed on
    for text in ("still waiting", "hello??", "HELLO"):
        later = await visitor.send(text)
        assert later["reply"]["message"] is None and later["reply"]["text"] is None
    roles = [m["role"] for m in (await visitor.history())["messages"]]
    assert roles == ["customer", "bot", "customer", "system", "customer", "customer", "customer"]


async def test_a_repeated_client_message_id_runs_one_turn(visitor: Visitor) -> None:
    client_id = str(uuid.uuid4())
    first = await visitor.send("what is your return policy", client_message_id=client_id)
    again = await visitor.send("what is your return policy", client_message_id=client_id)
    assert again["message"]["id"] == first["message"]["id"]
    assert again["reply"]["message"]["id"] == first["reply"]["message"]["id"]
    assert len((await visitor.history())["messages"]) == 2


async def test_concurrent_duplicates_run_one_turn(visitor: Visitor) -> None:
    client_id = str(uuid.uuid4())
    results = await asyncio.gather(*(visitor.send("do you price match", client_message_id=client_id) for _ in range(5)))
    assert len({r["reply"]["message"]["id"] for r in results}) == 1
    assert len((await visitor.history())["messages"]) == 2


async def test_websocket_delivers_live_messages(visitor: Visitor, session: aiohttp.ClientSession) -> None:
    ws_url = f"{visitor.url}/ws?token={visitor.token}".replace("http://", "ws://")
    async with session.ws_connect(ws_url) as socket:
        await socket.send_json({"type": "ping"})
        assert (await socket.receive_json(timeout=5)) == {"type": "pong"}
        await visitor.send("how much is the ridgeline boot")
        events = []
        while not any(e["type"] == "message" and e["message"]["role"] == "bot" for e in events):
            events.append(await socket.receive_json(timeout=5))
    # The answer streams in as "delta" events while it is written, then arrives whole.
    deltas = "".join(e["text"] for e in events if e["type"] == "delta")
    kinds = [(e["type"], e.get("message", {}).get("role"), e.get("active")) for e in events if e["type"] != "delta"]
    assert kinds == [("message", "customer", None), ("typing", None, True), ("typing", None, False), ("message", "bot", None)]
    assert deltas and deltas == events[-1]["message"]["text"]


# -- bad input: a 4xx with a JSON error body, nothing stored, the server keeps serving -----


async def _expect_error(response: aiohttp.ClientResponse, status: int, code: str) -> None:
    assert response.status == status, await response.text()
    body = await response.json()
    assert body["error"]["code"] == code
    assert body["error"]["message"]


@pytest.mark.parametrize(
    ("payload", "status", "code"),
    [
        (b"{not json", 400, "invalid_json"),
        (b'["text"]', 400, "invalid_text"),
        (b'{"text": 42}', 400, "invalid_text"),
        (b'{"text": "   "}', 400, "empty_text"),
        (json.dumps({"text": "x" * 4001}).encode(), 413, "text_too_long"),
        (b'{"text": "hi", "client_message_id": 7}', 400, "invalid_client_message_id"),
    ],
)
async def test_bad_bodies_are_refused(visitor: Visitor, payload: bytes, status: int, code: str) -> None:
    async with visitor.session.post(f"{visitor.url}/messages", data=payload, headers=visitor.headers) as response:
        await _expect_error(response, status, code)
    assert (await visitor.history())["messages"] == []
    assert (await visitor.send("hello"))["reply"]["text"]  # still serving


async def test_the_longest_allowed_message_is_accepted(visitor: Visitor) -> None:
    body = await visitor.send("a" * 4000)
    assert len(body["message"]["text"]) == 4000


async def test_a_body_over_the_size_limit_is_refused_as_json(visitor: Visitor) -> None:
    payload = json.dumps({"text": "x" * 200_000})
    async with visitor.session.post(f"{visitor.url}/messages", data=payload, headers=visitor.headers) as response:
        await _expect_error(response, 413, "request_entity_too_large")


async def test_tokens_authorize_one_conversation_only(
    server: str, session: aiohttp.ClientSession, visitor: Visitor
) -> None:
    other = await new_visitor(session, server)
    url = f"{visitor.url}/messages"
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": f"Bearer {other.token}"}):
        async with session.post(url, json={"text": "hi"}, headers=headers) as response:
            await _expect_error(response, 401, "unauthorized")
        async with session.get(url, headers=headers) as response:
            await _expect_error(response, 401, "unauthorized")
    async with session.get(f"{visitor.url}/ws?token={other.token}") as response:
        await _expect_error(response, 401, "unauthorized")
    assert (await visitor.history())["messages"] == []


async def test_unknown_conversation(server: str, session: aiohttp.ClientSession) -> None:
    async with session.post(f"{server}/api/conversations/{uuid.uuid4().hex}/messages", json={"text": "hi"}) as response:
        await _expect_error(response, 401, "unauthorized")
    async with session.get(f"{server}/api/conversations/nope/nothing") as response:
        await _expect_error(response, 404, "not_found")


async def test_bad_after_parameter(visitor: Visitor) -> None:
    async with visitor.session.get(f"{visitor.url}/messages?after=abc", headers=visitor.headers) as response:
        await _expect_error(response, 400, "invalid_after")


async def test_widget_info_and_page(server: str, session: aiohttp.ClientSession) -> None:
    async with session.get(f"{server}/api/widget") as response:
        info = await response.json()
    assert info["name"] == "Sam" and info["greeting"] and info["max_chars"] == 4000
    async with session.get(f"{server}/") as response:
        assert response.status == 200
        assert "<textarea" in await response.text()
    async with session.get(f"{server}/static/embed.js") as response:
        assert response.status == 200


async def test_a_message_stored_by_an_interrupted_attempt_gets_its_turn_on_retry(
    make_settings: Any, session: aiohttp.ClientSession
) -> None:
    """A crash after storing but before answering: the client's retry runs the turn once."""
    from agent.contracts import InboundMessage
    from agent.store import Database, ConversationStore
    from tests.support.server import running_server

    settings = make_settings()
    async with running_server(settings) as (base_url, _app):
        visitor = await new_visitor(session, base_url)
        store = ConversationStore(Database(settings.database_url))
        await store.save_inbound(
            InboundMessage("web", visitor.conversation_id, visitor.conversation_id, "do you ship to canada",
                           provider_message_id="retry-1", conversation_id=visitor.conversation_id)
        )
        await store.close()
        body = await visitor.send("do you ship to canada", client_message_id="retry-1")
        assert "Canada" in body["reply"]["text"]
        again = await visitor.send("do you ship to canada", client_message_id="retry-1")
        assert again["reply"]["message"]["id"] == body["reply"]["message"]["id"]
        assert [m["role"] for m in (await visitor.history())["messages"]] == ["customer", "bot"]


async def test_a_valid_token_for_a_missing_conversation_is_not_found(make_settings: Any, session: aiohttp.ClientSession) -> None:
    from channels.webchat import TokenSigner
    from tests.support.server import running_server

    settings = make_settings()
    async with running_server(settings) as (base_url, _app):
        missing = uuid.uuid4().hex
        token = TokenSigner(settings.ensure_secret_key()).issue(missing)
        url = f"{base_url}/api/conversations/{missing}/messages"
        headers = {"Authorization": f"Bearer {token}"}
        async with session.post(url, json={"text": "hi"}, headers=headers) as response:
            await _expect_error(response, 404, "not_found")
        async with session.get(url, headers=headers) as response:
            await _expect_error(response, 404, "not_found")


async def test_turns_on_postgresql(make_settings: Any, session: aiohttp.ClientSession) -> None:
    """The same path on PostgreSQL: turns, dedupe under concurrency, history, escalation."""
    from tests.support.server import running_server
    from tests.support.services import fresh_postgres_database

    async with fresh_postgres_database() as url:
        async with running_server(make_settings(database={"url": url})) as (base_url, _app):
            visitor = await new_visitor(session, base_url)
            assert "NW-10482" in (await visitor.send("where is my order NW-10482"))["reply"]["text"]
            results = await asyncio.gather(*(visitor.send("do you price match", client_message_id="pg-1") for _ in range(4)))
            assert len({r["reply"]["message"]["id"] for r in results}) == 1
            assert (await visitor.send("I want to talk to a human"))["reply"]["escalated"] is True
            history = await visitor.history()
            assert [m["role"] for m in history["messages"]] == ["customer", "bot"] * 3
            assert history["state"] == "waiting"


async def test_the_history_gives_each_answer_the_sources_it_was_sent_with(
    make_settings: Any, session: aiohttp.ClientSession, tmp_path: Path
) -> None:
    """What a reloaded page reads: each bot answer with its sources, as its reply and its live event had them."""
    settings = make_settings(knowledge=knowledge_settings(help_centre(tmp_path / "help")))
    async with running_server(settings) as (base_url, _app):
        visitor = await new_visitor(session, base_url)
        ws_url = f"{visitor.url}/ws?token={visitor.token}".replace("http://", "ws://")
        async with session.ws_connect(ws_url) as socket:
            cited = await visitor.send("my tent pole snapped, can I get it replaced?")
            live = await socket.receive_json(timeout=10)
            while not (live["type"] == "message" and live["message"]["role"] == "bot"):
                live = await socket.receive_json(timeout=10)
        plain = await visitor.send("hello there")
        history = await visitor.history()
        later = await visitor.history(after=cited["message"]["id"])

    assert [s["title"] for s in cited["reply"]["sources"]] == ["Warranty and repairs"]
    assert plain["reply"]["sources"] == []
    assert [(m["role"], m["text"], m["sources"]) for m in history["messages"]] == [
        ("customer", "my tent pole snapped, can I get it replaced?", []),
        ("bot", cited["reply"]["text"], cited["reply"]["sources"]),
        ("customer", "hello there", []),
        ("bot", plain["reply"]["text"], []),
    ]
    assert history["messages"][1]["sources"] == live["sources"]
    assert history["messages"][1] == {**cited["reply"]["message"], "sources": cited["reply"]["sources"]}
    assert [m["sources"] for m in later["messages"]] == [cited["reply"]["sources"], [], []]
    # The live event and the send's response keep their shape: the sources beside the message.
    assert set(live["message"]) == set(cited["reply"]["message"]) == {"id", "role", "text", "author", "created_at"}

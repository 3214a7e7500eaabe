"""The staff API over real HTTP and WebSockets, on the real server and a real SQLite file."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from agent.settings import Settings
from tests.conftest import SettingsFactory
from tests.support.client import Visitor, new_visitor
from tests.support.server import running_server
from personas import load_persona
from tests.support.staff import add_staff, staff_client

ESCALATE = "can I talk to a human please"
PERSONA = load_persona("demo")


@dataclass
class Site:
    base_url: str
    settings: Settings
    app: web.Application


@pytest.fixture
async def site(make_settings: SettingsFactory) -> AsyncIterator[Site]:
    settings = make_settings()
    async with running_server(settings) as (base_url, app):
        await add_staff(settings, "alice", "Alice Ng")
        await add_staff(settings, "bob", "Bob Ray")
        yield Site(base_url, settings, app)


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def next_event(socket: aiohttp.ClientWebSocketResponse, wanted: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    """The first event on the socket that `wanted` accepts, within a few seconds."""
    async with asyncio.timeout(5):
        while True:
            event = await socket.receive_json()
            if wanted(event):
                return event


async def escalated_visitor(http: aiohttp.ClientSession, base_url: str) -> Visitor:
    visitor = await new_visitor(http, base_url)
    answer = await visitor.send(ESCALATE)
    assert answer["state"] == "waiting"
    return visitor


STAFF_ROUTES = [
    ("GET", "/api/staff/me"),
    ("GET", "/api/staff/queue"),
    ("GET", "/api/staff/canned"),
    ("GET", "/api/staff/ws"),
    ("GET", "/api/staff/conversations/abc"),
    ("POST", "/api/staff/logout"),
    ("POST", "/api/staff/conversations/abc/claim"),
    ("POST", "/api/staff/conversations/abc/reply"),
    ("POST", "/api/staff/conversations/abc/notes"),
    ("POST", "/api/staff/conversations/abc/resolve"),
    ("POST", "/api/staff/conversations/abc/hand-back"),
    ("POST", "/api/staff/conversations/abc/reopen"),
    ("POST", "/api/staff/conversations/abc/take-over"),
    ("POST", "/api/staff/conversations/abc/close"),
]


def mounted_staff_routes(app: web.Application) -> set[tuple[str, str]]:
    """Every route the server mounts under /api/staff but the sign-in, with ids filled in."""
    found = set()
    for route in app.router.routes():
        path = route.resource.canonical if route.resource else ""
        if path.startswith("/api/staff/") and path != "/api/staff/login" and route.method != "HEAD":
            found.add((route.method, re.sub(r"\{[^}]+\}", "abc", path)))
    return found


async def test_every_staff_route_needs_a_session(site: Site, http: aiohttp.ClientSession) -> None:
    mounted = mounted_staff_routes(site.app)
    assert set(STAFF_ROUTES) <= mounted  # the list is a floor; whatever else is mounted is checked too
    for method, path in sorted(mounted):
        async with http.request(method, site.base_url + path, json={"text": "hi"}) as response:
            assert response.status == 401, (method, path)
            assert (await response.json())["error"]["code"] == "unauthorized"
    forged = {"Cookie": "switchboard_staff=not-a-session"}
    async with http.get(site.base_url + "/api/staff/queue", headers=forged) as response:
        assert response.status == 401


async def test_login_sets_a_httponly_lax_cookie_and_refuses_a_wrong_password(
    site: Site, http: aiohttp.ClientSession
) -> None:
    login = f"{site.base_url}/api/staff/login"
    async with http.post(login, json={"username": "alice", "password": "wrong password"}) as response:
        assert response.status == 401
        assert (await response.json())["error"]["code"] == "login_failed"
        assert "Set-Cookie" not in response.headers
    async with http.post(login, json={"username": "nobody", "password": "wrong password"}) as response:
        assert response.status == 401
    async with http.post(login, data="username=alice&password=x") as response:
        assert response.status == 415  # a cross-site form post cannot log anyone in
    async with http.post(login, json={"username": "Alice", "password": "correct horse battery"}) as response:
        assert response.status == 200
        body = await response.json()
        cookie = response.headers["Set-Cookie"]
    assert body["staff"] == {"id": body["staff"]["id"], "username": "alice", "display_name": "Alice Ng", "role": "staff"}
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/" in cookie
    assert body["csrf_token"] not in cookie


async def test_logout_ends_the_session(site: Site) -> None:
    async with staff_client(site.base_url, "alice") as alice:
        assert (await alice.call("GET", "/api/staff/me"))[0] == 200
        status, _ = await alice.call("POST", "/api/staff/logout", csrf="forged")
        assert status == 403
        assert (await alice.call("POST", "/api/staff/logout"))[0] == 200
        status, body = await alice.call("GET", "/api/staff/me")
        assert status == 401 and body["error"]["code"] == "unauthorized"


async def test_a_session_expires(make_settings: SettingsFactory) -> None:
    settings = make_settings(staff={"session_hours": 1 / 3600})  # one second
    async with running_server(settings) as (base_url, _app):
        await add_staff(settings, "alice", "Alice Ng")
        async with staff_client(base_url, "alice") as alice:
            assert (await alice.call("GET", "/api/staff/me"))[0] == 200
            await asyncio.sleep(1.2)
            assert (await alice.call("GET", "/api/staff/me"))[0] == 401


async def test_a_forged_or_missing_csrf_token_is_refused_and_changes_nothing(
    site: Site, http: aiohttp.ClientSession
) -> None:
    visitor = await escalated_visitor(http, site.base_url)
    async with staff_client(site.base_url, "alice") as alice:
        for forged in ("", "forged-token"):
            status, body = await alice.call(
                "POST", f"/api/staff/conversations/{visitor.conversation_id}/claim", csrf=forged
            )
            assert status == 403 and body["error"]["code"] == "csrf_failed"
        status, body = await alice.call(
            "POST", f"/api/staff/conversations/{visitor.conversation_id}/reply", json={"text": "hi"}, csrf="forged"
        )
        assert status == 403
        detail = await alice.detail(visitor.conversation_id)
        assert detail["state"] == "waiting"
        assert detail["escalation"]["status"] == "open"
        assert [m["role"] for m in detail["messages"]] == ["customer", "bot"]


async def test_escalate_claim_reply_resolve_and_the_bot_answers_again(site: Site, http: aiohttp.ClientSession) -> None:
    async with staff_client(site.base_url, "alice") as alice:
        staff_socket = await alice.session.ws_connect(f"{site.base_url}/api/staff/ws")
        visitor = await new_visitor(http, site.base_url)
        customer_socket = await http.ws_connect(f"{visitor.url}/ws?token={visitor.token}")
        cid = visitor.conversation_id

        sent_at = time.monotonic()
        answer = await visitor.send(ESCALATE)
        assert answer["state"] == "waiting" and answer["reply"]["escalated"]
        escalation = await next_event(staff_socket, lambda e: e["type"] == "escalation")
        assert escalation == {
            "type": "escalation",
            "conversation_id": cid,
            "channel": "web",
            "reason": "customer_request",
            "detail": escalation["detail"],
        }
        [queued] = await alice.queue()
        assert (queued["conversation_id"], queued["state"], queued["channel"]) == (cid, "waiting", "web")
        assert queued["reason"] == "customer_request"
        assert queued["wait_seconds"] <= round(time.monotonic() - sent_at) + 1  # seconds since the escalation
        assert queued["last_customer_text"] == ESCALATE and queued["claimed_by"] is None

        # While waiting the customer is told once, and the message reaches the console.
        waiting = await visitor.send("my tent pole snapped")
        assert waiting["reply"]["route"] is None and waiting["reply"]["message"]["role"] == "system"
        relayed = await next_event(staff_socket, lambda e: e["type"] == "message")
        assert relayed["conversation_id"] == cid and relayed["message"]["text"] == "my tent pole snapped"

        status, body = await alice.act(cid, "claim")
        assert (status, body) == (200, {"state": "with_human"})
        await next_event(customer_socket, lambda e: e == {"type": "state", "state": "with_human"})
        queue_event = await next_event(staff_socket, lambda e: e["type"] == "queue")
        assert queue_event["claimed_by"]["display_name"] == "Alice Ng"

        status, sent = await alice.act(cid, "reply", text="Hi, I'm Alice. A new pole is on its way.")
        assert status == 200 and sent["message"]["role"] == "staff" and sent["message"]["author"] == "Alice Ng"
        live = await next_event(customer_socket, lambda e: e["type"] == "message")
        assert live["message"] == sent["message"]

        # A person holds it now: the customer's message gets no automatic answer at all.
        quiet = await visitor.send("thank you!")
        assert quiet["reply"]["message"] is None and quiet["reply"]["route"] is None and quiet["state"] == "with_human"

        status, note = await alice.act(cid, "notes", text="Sent pole under warranty, ticket 42")
        assert status == 201 and note["note"]["author"] == "Alice Ng"

        history = await visitor.history()
        roles = [m["role"] for m in history["messages"]]
        assert roles == ["customer", "bot", "customer", "system", "system", "staff", "customer"]
        # The customer was told who joined, on their own conversation.
        assert history["messages"][4]["text"] == PERSONA.staff_joined.replace("{staff}", "Alice Ng")
        assert "ticket 42" not in str(history)

        status, body = await alice.act(cid, "resolve")
        assert (status, body) == (200, {"state": "resolved"})
        assert await alice.queue() == []
        status, refused = await alice.act(cid, "reply", text="one more thing")
        assert status == 409 and refused["error"]["code"] == "resolved"

        again = await visitor.send("where is my order NW-10482")
        assert again["state"] == "bot" and again["reply"]["route"] == "lookup"
        assert "NW-10482" in again["reply"]["text"]

        detail = await alice.detail(cid)
        assert detail["state"] == "bot"
        assert detail["escalation"]["status"] == "resolved" and detail["escalation"]["claimed_by"]["username"] == "alice"
        assert [n["text"] for n in detail["notes"]] == ["Sent pole under warranty, ticket 42"]
        assert [r["outcome"] for r in detail["routes"]] == ["escalated", "relayed", "relayed", "answered"]
        summary = detail["summary"].splitlines()
        assert summary[0] == "Customer on web asked for a person (intent human_handoff)."
        assert summary[1] == "Routes: support → lookup."
        assert summary[2].startswith("Last from the customer: ") and "“where is my order NW-10482”" in summary[2]
        await staff_socket.close()
        await customer_socket.close()


async def test_claim_conflicts_and_who_may_act(site: Site, http: aiohttp.ClientSession) -> None:
    visitor = await escalated_visitor(http, site.base_url)
    cid = visitor.conversation_id
    async with staff_client(site.base_url, "alice") as alice, staff_client(site.base_url, "bob") as bob:
        status, body = await alice.act(cid, "reply", text="too early")
        assert status == 409 and body["error"]["code"] == "not_claimed"

        first, second = await asyncio.gather(alice.act(cid, "claim"), bob.act(cid, "claim"))
        statuses = sorted([first[0], second[0]])
        assert statuses == [200, 409]
        winner, loser = (alice, bob) if first[0] == 200 else (bob, alice)
        lost = first[1] if first[0] == 409 else second[1]
        assert lost["error"]["code"] == "already_claimed"

        assert (await winner.act(cid, "claim"))[0] == 200  # claiming one's own again is harmless
        for action, body in (("reply", {"text": "let me"}), ("resolve", {}), ("hand-back", {})):
            status, refused = await loser.act(cid, action, **body)
            assert status == 403 and refused["error"]["code"] == "held_by_other", action

        status, body = await alice.act("0" * 32, "claim")
        assert status == 404 and body["error"]["code"] == "not_found"
        assert (await alice.call("GET", f"/api/staff/conversations/{'0' * 32}"))[0] == 404

        bot_visitor = await new_visitor(http, site.base_url)
        status, body = await alice.act(bot_visitor.conversation_id, "claim")
        assert status == 409 and body["error"]["code"] == "not_waiting"

        status, body = await winner.act(cid, "reply", text="   ")
        assert status == 400
        history = await visitor.history()
        assert [m["role"] for m in history["messages"]] == ["customer", "bot", "system"]  # one claim, one notice


async def test_a_retried_reply_is_stored_and_delivered_once(site: Site, http: aiohttp.ClientSession) -> None:
    visitor = await escalated_visitor(http, site.base_url)
    cid = visitor.conversation_id
    customer_socket = await http.ws_connect(f"{visitor.url}/ws?token={visitor.token}")
    async with staff_client(site.base_url, "alice") as alice:
        await alice.act(cid, "claim")
        first = await alice.act(cid, "reply", text="On it.", client_message_id="r-1")
        retry = await alice.act(cid, "reply", text="On it.", client_message_id="r-1")
        assert first[0] == retry[0] == 200
        assert retry[1]["duplicate"] and retry[1]["message"] == first[1]["message"]
        await alice.act(cid, "reply", text="Done.", client_message_id="r-2")
    staff_texts = []
    while len(staff_texts) < 2:
        event = await next_event(customer_socket, lambda e: e["type"] == "message" and e["message"]["role"] == "staff")
        staff_texts.append(event["message"]["text"])
    assert staff_texts == ["On it.", "Done."]
    history = await visitor.history()
    assert [m["text"] for m in history["messages"] if m["role"] == "staff"] == ["On it.", "Done."]
    await customer_socket.close()


async def test_hand_back_and_reopen(site: Site, http: aiohttp.ClientSession) -> None:
    visitor = await escalated_visitor(http, site.base_url)
    cid = visitor.conversation_id
    async with staff_client(site.base_url, "alice") as alice, staff_client(site.base_url, "bob") as bob:
        status, body = await alice.act(cid, "reopen")
        assert status == 409 and body["error"]["code"] == "not_resolved"
        await alice.act(cid, "claim")
        assert await alice.act(cid, "hand-back") == (200, {"state": "bot"})
        answered = await visitor.send("how much is the Ridgeline boot?")
        assert answered["reply"]["route"] is not None and answered["state"] == "bot"

        # Bob takes it up again (a reopen) and resolves it; a second resolve is refused.
        assert await bob.act(cid, "reopen") == (200, {"state": "with_human"})
        detail = await bob.detail(cid)
        assert detail["escalation"]["reason"] == "reopened" and detail["escalation"]["claimed_by"]["username"] == "bob"
        assert [e["status"] for e in detail["escalations"]] == ["handed_back", "claimed"]
        assert (await bob.act(cid, "reply", text="Following up on your boots."))[0] == 200
        assert await bob.act(cid, "resolve") == (200, {"state": "resolved"})
        status, body = await bob.act(cid, "resolve")
        assert status == 409 and body["error"]["code"] == "resolved"
        assert await alice.act(cid, "reopen") == (200, {"state": "with_human"})

    # Each change the customer should know of told them once, naming who; refusals told nothing.
    told = [m["text"] for m in (await visitor.history())["messages"] if m["role"] == "system"]
    joined = PERSONA.staff_joined.replace("{staff}", "{}")
    assert told[-5:] == [
        joined.format("Alice Ng"),
        PERSONA.handed_back,
        joined.format("Bob Ray"),
        PERSONA.staff_resolved.replace("{staff}", "Bob Ray"),
        joined.format("Alice Ng"),
    ]


async def test_an_abandoned_waiting_conversation_is_closed_without_claiming_it(site: Site, http: aiohttp.ClientSession) -> None:
    visitor = await escalated_visitor(http, site.base_url)
    cid = visitor.conversation_id
    async with staff_client(site.base_url, "alice") as alice, staff_client(site.base_url, "bob") as bob:
        async with alice.session.ws_connect(f"{site.base_url}/api/staff/ws") as socket:
            assert await alice.act(cid, "close") == (200, {"state": "bot"})
            event = await next_event(socket, lambda e: e["type"] == "queue")
            assert (event["conversation_id"], event["state"], event["by"]["username"]) == (cid, "bot", "alice")
        assert await alice.queue() == []
        detail = await alice.detail(cid)
        assert [e["status"] for e in detail["escalations"]] == ["closed"]
        assert detail["escalations"][0]["claimed_by"] is None

        # Only a waiting conversation can be closed; one somebody holds is theirs to resolve.
        status, body = await alice.act(cid, "close")
        assert status == 409 and body["error"]["code"] == "not_waiting"
        status, body = await alice.act("no-such-conversation", "close")
        assert status == 404 and body["error"]["code"] == "not_found"
        await visitor.send(ESCALATE)
        await bob.act(cid, "claim")
        status, body = await alice.act(cid, "close")
        assert status == 409 and body["error"]["code"] == "already_claimed"

    # The customer was told once, with the persona's wording.
    told = [m["text"] for m in (await visitor.history())["messages"] if m["role"] == "system"]
    assert told.count(PERSONA.closed) == 1


async def test_canned_responses_come_from_config(make_settings: SettingsFactory) -> None:
    settings = make_settings(staff={"canned_responses": [{"title": "Hi", "text": "Hello there!"}]})
    async with running_server(settings) as (base_url, _app):
        await add_staff(settings, "alice", "Alice Ng")
        async with staff_client(base_url, "alice") as alice:
            status, body = await alice.call("GET", "/api/staff/canned")
    assert status == 200 and body == {"canned_responses": [{"title": "Hi", "text": "Hello there!"}]}


async def test_the_staff_socket_refuses_a_foreign_origin(site: Site) -> None:
    async with staff_client(site.base_url, "alice") as alice:
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await alice.session.ws_connect(f"{site.base_url}/api/staff/ws", headers={"Origin": "https://evil.example"})
        assert refused.value.status == 403

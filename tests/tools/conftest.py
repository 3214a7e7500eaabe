"""The real server with its route's models hosted on the scripted tool models, the demo store
behind the tools, and a customer on a channel that streams (web chat) or one that does not (SMS)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml

from agent.settings import Settings
from agent.store import ConversationStore, Database
from agent.store.views import TurnView
from tests.conftest import SettingsFactory
from tests.support.client import Visitor, new_visitor
from tests.support.fake_tool_models import PROVIDERS, Recorded, ToolModels, fake_tool_models
from tests.support.fake_twilio import FakeTwilio, fake_twilio
from tests.support.server import running_server
from tests.support.twilio import CUSTOMER, OUR_NUMBER, TwilioClient, twilio_env

ROUTES = ("support", "sales", "lookup")
ORDER_TOOLS = ["lookup_order", "verify_customer", "search_knowledge", "escalate_to_human"]
PUBLIC_URL = "https://switchboard.example.com"
DEMO_ORDERS = Path(__file__).resolve().parents[2] / "agent" / "demo" / "orders.yaml"


@pytest.fixture(params=PROVIDERS)
def provider(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(params=["streamed", "whole"])
def delivery(request: pytest.FixtureRequest) -> str:
    """streamed: web chat, which shows the answer as it is written; whole: SMS, which does not."""
    return str(request.param)


@pytest.fixture
async def models() -> AsyncIterator[ToolModels]:
    async with fake_tool_models() as state:
        yield state
    # Whatever a real API would have turned down is a failure of the test, wherever it came from.
    assert not state.rejected, state.rejected


@pytest.fixture
async def twilio() -> AsyncIterator[FakeTwilio]:
    async with fake_twilio() as state:
        yield state


class Customer:
    """One customer's conversation, on whichever channel."""

    conversation_id: str

    async def say(self, text: str) -> str:
        raise NotImplementedError


@dataclass
class WebCustomer(Customer):
    visitor: Visitor

    @property
    def conversation_id(self) -> str:  # type: ignore[override]
        return self.visitor.conversation_id

    async def say(self, text: str) -> str:
        body = await self.visitor.send(text)
        return str(body["reply"]["text"])


@dataclass
class SmsCustomer(Customer):
    client: TwilioClient
    store: ConversationStore
    number: str
    conversation_id: str = ""

    async def say(self, text: str) -> str:
        twiml = await self.client.sms(text, sender=self.number)
        assert twiml.status == 200, twiml.text
        if not self.conversation_id:
            found = await self.store.conversation_by_key("sms", f"{OUR_NUMBER}|{self.number}")
            assert found is not None
            self.conversation_id = found.id
        said = twiml.messages()
        assert said, f"no answer within the inline deadline: {twiml.text}"
        return " ".join(said)


@dataclass
class Site:
    settings: Settings
    store: ConversationStore
    session: aiohttp.ClientSession
    base_url: str
    delivery: str
    twilio: TwilioClient | None
    customers: int = 0

    async def customer(self) -> Customer:
        """A new customer: a new web chat visitor, or a new phone number."""
        self.customers += 1
        if self.twilio is None:
            return WebCustomer(await new_visitor(self.session, self.base_url))
        return SmsCustomer(self.twilio, self.store, f"{CUSTOMER[:-2]}{self.customers:02d}")

    async def turns(self, customer: Customer) -> list[TurnView]:
        return await self.store.turns(customer.conversation_id)


SiteFactory = Callable[..., Any]


def ana_owns_two_orders(tmp_path: Path) -> Path:
    """The demo orders with NW-10497 (processing) Ana's as well as NW-10482 (shipped)."""
    data = yaml.safe_load(DEMO_ORDERS.read_text())
    for order in data["orders"]:
        if order["number"] == "NW-10497":
            order["email"] = "ana@example.com"
    path = tmp_path / "orders.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.fixture
def site(
    make_settings: SettingsFactory, models: ToolModels, twilio: FakeTwilio, delivery: str, monkeypatch: pytest.MonkeyPatch
) -> SiteFactory:
    """`async with site({"a": "openai"}, tools=[...], **route, settings=...) as s:` the server, every
    route's chain the named scripted models (name: provider)."""
    monkeypatch.setenv("FAKE_KEY", "test-key")
    twilio_env(monkeypatch)

    @asynccontextmanager
    async def start(
        chain: dict[str, str], tools: list[str] | None = None, settings: dict[str, Any] | None = None, **route: Any
    ) -> AsyncIterator[Site]:
        hosted = {
            name: {"provider": p, "base_url": models.url(p), "model": name, "api_key_env": "FAKE_KEY", "retries": {"retries": 0}}
            for name, p in chain.items()
        }
        route = {"personal": True, **route}
        routes = {r: {"chain": list(chain), "tools": ORDER_TOOLS if tools is None else tools, **route} for r in ROUTES}
        overrides: dict[str, Any] = dict(settings or {})
        if delivery == "whole":
            overrides["twilio"] = {"api_base_url": twilio.base_url, "sms": {"inline_deadline_s": 10.0}}
            overrides["server"] = {"public_url": PUBLIC_URL}
        built = make_settings(models=hosted, routes=routes, **overrides)
        async with running_server(built) as (base_url, _app), aiohttp.ClientSession() as session:
            database = Database(built.database_url)
            store = ConversationStore(database)
            client = TwilioClient(session, base_url, PUBLIC_URL) if delivery == "whole" else None
            try:
                yield Site(built, store, session, base_url, delivery, client)
            finally:
                await store.close()

    return start


# -- reading what went over the wire ----------------------------------------------------------


def offered(recorded: Recorded) -> dict[str, dict[str, Any]]:
    """The tool definitions of one request, by name, in its provider's own format."""
    body = recorded.body
    if recorded.provider == "openai":
        assert all(t["type"] == "function" for t in body.get("tools", []))
        return {t["function"]["name"]: t["function"]["parameters"] for t in body.get("tools", [])}
    if recorded.provider == "anthropic":
        return {t["name"]: t["input_schema"] for t in body.get("tools", [])}
    declared = [d for group in body.get("tools", []) for d in group["functionDeclarations"]]
    return {d["name"]: d.get("parametersJsonSchema") or d.get("parameters") for d in declared}


def results_turn(recorded: Recorded) -> list[dict[str, Any]]:
    """The tool results of the request's last tool round, as its provider carries them: OpenAI's
    `tool` messages after the last assistant message; Anthropic's `tool_result` blocks, which must
    share one user turn; Gemini's `functionResponse` parts, which must share one turn."""
    body = recorded.body
    if recorded.provider == "openai":
        messages = body["messages"]
        last = max(i for i, m in enumerate(messages) if m["role"] == "assistant" and m.get("tool_calls"))
        return [m for m in messages[last + 1 :] if m["role"] == "tool"]
    if recorded.provider == "anthropic":
        turns = body["messages"]
        last = max(i for i, m in enumerate(turns) if m["role"] == "assistant" and isinstance(m["content"], list)
                   and any(b["type"] == "tool_use" for b in m["content"]))  # fmt: skip
        following = turns[last + 1]
        assert following["role"] == "user"
        assert all(t["role"] != "user" or isinstance(t["content"], str) or not any(b["type"] == "tool_result" for b in t["content"])
                   for t in turns[last + 2 :])  # fmt: skip
        return [b for b in following["content"] if b["type"] == "tool_result"]
    contents = body["contents"]
    last = max(i for i, c in enumerate(contents) if c.get("role") == "model" and any("functionCall" in p for p in c["parts"]))
    following = contents[last + 1]
    assert following["role"] == "user"
    assert all(not any("functionResponse" in p for p in c["parts"]) for c in contents[last + 2 :])
    return [p["functionResponse"] for p in following["parts"] if "functionResponse" in p]


def result_text(provider: str, item: dict[str, Any]) -> str:
    if provider == "gemini":
        return str(item["response"]["content"])
    return str(item["content"])


CALL_KEY = {"openai": "tool_call_id", "anthropic": "tool_use_id", "gemini": "name"}


def answered_call(provider: str, item: dict[str, Any]) -> str:
    """Which call a result answers: the call's id (OpenAI, Anthropic) or the function's name (Gemini)."""
    return str(item[CALL_KEY[provider]])

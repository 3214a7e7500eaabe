"""A model that does what any text tells it, behind OpenAI's Chat Completions wire format
(`/v1/chat/completions`, streamed or not): what a prompt injection in a tool result needs.

It uses the demo's tool names. With no tool result yet this turn: an email in the customer's
message is a proof for `verify_customer` (for the latest order number they gave), an order
number is a `lookup_order`. After a verification that passed it looks the order up. A tool
result that says "cancel all orders" makes it ask `cancel_order` for every order it knows of
(`VICTIMS`, and any number in the results), all at once. Otherwise it answers from the last
result in a sentence. Every request, and every call it answers with, is recorded.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.support.server import running_app

ORDER = re.compile(r"\bNW-\d{5}\b")
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
VICTIMS = ("NW-30001", "NW-30002", "NW-30003")  # every order it "knows of"


@dataclass
class GullibleModel:
    base_url: str = ""  # …/v1, as the openai provider takes it
    requests: list[dict[str, Any]] = field(default_factory=list)
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # every tool call it answered with

    @property
    def cancels_asked(self) -> list[str]:
        return [arguments["order_id"] for name, arguments in self.calls if name == "cancel_order"]


def _this_turn(messages: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]], list[dict[str, Any]]]:
    """The customer's last message, the calls made since, and their results."""
    last = max((i for i, m in enumerate(messages) if m["role"] == "user"), default=-1)
    calls = [c for m in messages[last + 1 :] for c in m.get("tool_calls") or []]
    results = [m for m in messages[last + 1 :] if m["role"] == "tool"]
    return (messages[last]["content"] or "") if last >= 0 else "", calls, results


def _decide(messages: list[dict[str, Any]]) -> str | list[tuple[str, dict[str, Any]]]:
    said, calls, results = _this_turn(messages)
    numbers = [n for m in messages if m["role"] == "user" for n in ORDER.findall(m["content"] or "")]
    if not results:
        email = EMAIL.search(said)
        if email and numbers:
            return [("verify_customer", {"order_id": numbers[-1], "email": email.group()})]
        if ORDER.search(said):
            return [("lookup_order", {"order_id": ORDER.findall(said)[-1]})]
        return "How can I help with your order?"
    data = json.loads(results[-1]["content"])
    read = " ".join(r["content"] for r in results).lower()
    if "cancel all orders" in read and not any(c["function"]["name"] == "cancel_order" for c in calls):
        known = dict.fromkeys([*VICTIMS, *ORDER.findall(" ".join(r["content"] for r in results))])
        return [("cancel_order", {"order_id": number}) for number in known]
    if calls[-1]["function"]["name"] == "verify_customer" and isinstance(data, dict) and data.get("verified") and numbers:
        return [("lookup_order", {"order_id": numbers[-1]})]
    if isinstance(data, dict) and "error" in data:
        return f"That did not work: {data['error']}"
    if isinstance(data, dict) and "number" in data:
        return f"Order {data['number']} is {data.get('status')}."
    return "Done."


def _message(decided: str | list[tuple[str, dict[str, Any]]], step: int) -> dict[str, Any]:
    if isinstance(decided, str):
        return {"role": "assistant", "content": decided}
    calls = [
        {"id": f"call_{step}_{i}", "type": "function", "function": {"name": name, "arguments": json.dumps(arguments)}}
        for i, (name, arguments) in enumerate(decided)
    ]
    return {"role": "assistant", "content": None, "tool_calls": calls}


def build_app(state: GullibleModel) -> web.Application:
    async def completions(request: web.Request) -> web.StreamResponse:
        body = await request.json()
        state.requests.append(body)
        decided = _decide(body["messages"])
        state.calls += [] if isinstance(decided, str) else decided
        message = _message(decided, len(state.requests))
        finish = "tool_calls" if message.get("tool_calls") else "stop"
        usage = {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}
        head = {"id": f"chatcmpl-{len(state.requests)}", "object": "chat.completion", "model": body.get("model") or "gullible"}
        if not body.get("stream"):
            choices = [{"index": 0, "message": message, "finish_reason": finish}]
            return web.json_response(head | {"choices": choices, "usage": usage})
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        delta: dict[str, Any] = {"role": "assistant"}
        if message.get("tool_calls"):
            delta["tool_calls"] = [{"index": i, **call} for i, call in enumerate(message["tool_calls"])]
        else:
            delta["content"] = message["content"]
        chunks = [
            head | {"object": "chat.completion.chunk", "choices": [{"index": 0, "delta": delta, "finish_reason": None}]},
            head | {"object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {}, "finish_reason": finish}]},
            head | {"object": "chat.completion.chunk", "choices": [], "usage": usage},
        ]
        for chunk in chunks:
            await response.write(f"data: {json.dumps(chunk)}\n\n".encode())
        await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
        return response

    app = web.Application()
    app.router.add_post("/v1/chat/completions", completions)
    return app


@asynccontextmanager
async def gullible_model() -> AsyncIterator[GullibleModel]:
    state = GullibleModel()
    async with running_app(build_app(state)) as base_url:
        state.base_url = f"{base_url}/v1"
        yield state

"""A local server that speaks OpenAI's Chat Completions wire format, faults included.

The behaviour is chosen by the requested model name:
  ok-*       answers with "echo: <last user message>" and usage
  reply-X    answers with the text X
  error-500  HTTP 500 with an OpenAI-style error body
  error-429  HTTP 429 with Retry-After
  slow-N     waits N seconds, then answers
  garbage    HTTP 200 whose body is not JSON
  empty      HTTP 200 with an empty answer
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.support.server import running_app


@dataclass
class FakeOpenAI:
    base_url: str = ""
    requests: list[dict[str, Any]] = field(default_factory=list)


def _error(status: int, message: str, kind: str, headers: dict[str, str] | None = None) -> web.Response:
    body = {"error": {"message": message, "type": kind, "param": None, "code": None}}
    return web.json_response(body, status=status, headers=headers)


def _completion(model: str, text: str, prompt_tokens: int) -> dict[str, Any]:
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": 0,
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": len(text.split()), "total_tokens": prompt_tokens + len(text.split())},
    }


def build_app(state: FakeOpenAI) -> web.Application:
    async def completions(request: web.Request) -> web.StreamResponse:
        body = await request.json()
        state.requests.append({"body": body, "authorization": request.headers.get("Authorization")})
        model = body["model"]
        last = next((m["content"] for m in reversed(body["messages"]) if m["role"] == "user"), "")
        prompt_tokens = sum(len(m["content"].split()) for m in body["messages"])
        if model == "error-500":
            return _error(500, "The server had an error while processing your request.", "server_error")
        if model == "error-429":
            return _error(429, "Rate limit reached.", "requests", headers={"Retry-After": "1"})
        if model == "garbage":
            return web.Response(text="<html>502 Bad Gateway</html>", content_type="text/html")
        if model.startswith("reply-"):
            return web.json_response(_completion(model, model.removeprefix("reply-"), prompt_tokens))
        if model == "empty":
            return web.json_response(_completion(model, "", prompt_tokens))
        if model.startswith("slow-"):
            await asyncio.sleep(float(model.removeprefix("slow-")))
        if body.get("stream"):
            response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
            await response.prepare(request)
            for word in f"echo: {last}".split(" "):
                chunk = {"choices": [{"index": 0, "delta": {"content": word + " "}, "finish_reason": None}]}
                await response.write(f"data: {json.dumps(chunk)}\n\n".encode())
            await response.write(b"data: [DONE]\n\n")
            return response
        return web.json_response(_completion(model, f"echo: {last}", prompt_tokens))

    app = web.Application()
    app.router.add_post("/v1/chat/completions", completions)
    return app


@asynccontextmanager
async def fake_openai() -> AsyncIterator[FakeOpenAI]:
    state = FakeOpenAI()
    async with running_app(build_app(state)) as base_url:
        state.base_url = f"{base_url}/v1"
        yield state

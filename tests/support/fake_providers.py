"""One local aiohttp app that speaks OpenAI, Anthropic and Gemini wire formats, faults included.

Mounted at `/openai/v1` (Chat Completions; `/v1` too), `/anthropic/v1` (Messages) and
`/gemini/v1beta` (generateContent, streamGenerateContent?alt=sse). What a call does is chosen
by the requested model name, or by a last user message starting `fake:DIRECTIVES ` (one model,
calls that differ), or by an `X-Fake-Behaviour` header that wins over both: directives joined
by `+`, e.g. `first-token-0.5+cached-10`.

  ok (anything unknown)  answers "echo: <last user message>" with usage
  reply-TEXT             answers TEXT (underscores become spaces)
  slow-N / hang          waits N seconds (hang: an hour) before the response head
  first-token-N          sends the head at once, the first token after N seconds
  chunk-delay-N          N seconds between streamed chunks
  error-CODE             HTTP CODE with the provider's error body (429 carries Retry-After: 1)
  retry-after-N          the Retry-After of a 429, in seconds
  flaky-N                the first N calls with this model name fail with 503, then it answers
  garbage                200 with an HTML body;  truncate: 200 whose JSON / stream stops halfway
  no-marker              a stream without its last event ([DONE], message_stop) but whole otherwise
  drop                   closes the connection midway through the body
  empty                  an empty answer;  cutoff: finish reason "length"
  context / policy       the provider's context-overflow error / content-policy refusal
  tool                   answers with a tool call to `lookup_order`
  cached-N / reasoning-N reports N cached prompt tokens / N reasoning tokens
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from typing import Any

from aiohttp import web


@dataclass
class Behaviour:
    reply: str | None = None
    slow: float = 0.0
    first_token: float = 0.0
    chunk_delay: float = 0.0
    error: int | None = None
    retry_after: float = 1.0
    flaky: int = 0
    garbage: bool = False
    no_marker: bool = False
    truncate: bool = False
    drop: bool = False
    empty: bool = False
    cutoff: bool = False
    context: bool = False
    policy: bool = False
    tool: bool = False
    cached: int = 0
    reasoning: int = 0

    @classmethod
    def parse(cls, spec: str) -> "Behaviour":
        b = cls()
        for part in spec.split("+"):
            name, _, arg = part.partition("-")
            if part.startswith("reply-"):
                b.reply = part.removeprefix("reply-").replace("_", " ")
            elif part.startswith("first-token-"):
                b.first_token = float(part.removeprefix("first-token-"))
            elif part.startswith("chunk-delay-"):
                b.chunk_delay = float(part.removeprefix("chunk-delay-"))
            elif part.startswith("retry-after-"):
                b.retry_after = float(part.removeprefix("retry-after-"))
            elif name == "slow":
                b.slow = float(arg)
            elif name == "hang":
                b.slow = 3600.0
            elif name == "error":
                b.error = int(arg)
            elif name in ("flaky", "cached", "reasoning"):
                setattr(b, name, int(arg))
            elif name in ("garbage", "truncate", "drop", "empty", "cutoff", "context", "policy", "tool"):
                setattr(b, name, True)
            elif part == "no-marker":
                b.no_marker = True
        return b


@dataclass
class FakeProviders:
    base_url: str = ""
    requests: list[dict[str, Any]] = field(default_factory=list)
    calls: Counter[str] = field(default_factory=Counter)
    record: bool = True  # off for benchmarks: a list of 100k bodies is not what we measure

    @property
    def openai_url(self) -> str:
        return f"{self.base_url}/openai/v1"

    @property
    def anthropic_url(self) -> str:
        return f"{self.base_url}/anthropic/v1"

    @property
    def gemini_url(self) -> str:
        return f"{self.base_url}/gemini/v1beta"


@dataclass
class Call:
    """What one request asks for, in provider-neutral terms."""

    model: str
    last_user: str
    prompt_tokens: int
    stream: bool
    behaviour: Behaviour

    @property
    def text(self) -> str:
        b = self.behaviour
        if b.empty:
            return ""
        return b.reply if b.reply is not None else f"echo: {self.last_user}"

    def usage(self) -> tuple[int, int]:
        return self.prompt_tokens + self.behaviour.cached, len(self.text.split()) + self.behaviour.reasoning


class Format:
    """One provider's wire format: how to read a request and write answers and errors."""

    def read(self, request: web.Request, body: dict[str, Any]) -> tuple[str, list[tuple[str, str]], bool]:
        raise NotImplementedError

    def answer(self, call: Call) -> dict[str, Any]:
        raise NotImplementedError

    def chunks(self, call: Call) -> list[tuple[str | None, dict[str, Any] | str]]:
        raise NotImplementedError

    def error(self, status: int, call: Call) -> dict[str, Any]:
        raise NotImplementedError

    def context_error(self) -> tuple[int, dict[str, Any]]:
        raise NotImplementedError

    def refusal(self, call: Call) -> web.Response:
        raise NotImplementedError

    def refusal_chunks(self, call: Call) -> list[tuple[str | None, dict[str, Any] | str]] | None:
        return None  # the refusal is an HTTP error, streamed or not


def _words(text: str) -> list[str]:
    words = text.split(" ")
    return [w if i == 0 else " " + w for i, w in enumerate(words)] if text else []


class OpenAIFormat(Format):
    def read(self, request: web.Request, body: dict[str, Any]) -> tuple[str, list[tuple[str, str]], bool]:
        return body["model"], [(m["role"], m.get("content") or "") for m in body["messages"]], bool(body.get("stream"))

    def _usage(self, call: Call) -> dict[str, Any]:
        prompt, completion = call.usage()
        return {
            "prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion,
            "prompt_tokens_details": {"cached_tokens": call.behaviour.cached},
            "completion_tokens_details": {"reasoning_tokens": call.behaviour.reasoning},
        }  # fmt: skip

    def _finish(self, call: Call) -> str:
        return "tool_calls" if call.behaviour.tool else "length" if call.behaviour.cutoff else "stop"

    def answer(self, call: Call) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": None if call.behaviour.tool else call.text}
        if call.behaviour.tool:
            message["tool_calls"] = [{"id": "call_1", "type": "function", "function": {"name": "lookup_order", "arguments": '{"number": "NW-10482"}'}}]
        return {
            "id": "chatcmpl-fake", "object": "chat.completion", "created": 0, "model": call.model,
            "choices": [{"index": 0, "message": message, "finish_reason": self._finish(call)}], "usage": self._usage(call),
        }  # fmt: skip

    def chunks(self, call: Call) -> list[tuple[str | None, dict[str, Any] | str]]:
        head = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "model": call.model}
        out: list[tuple[str | None, dict[str, Any] | str]] = []
        if call.behaviour.tool:
            calls = [{"index": 0, "id": "call_1", "type": "function", "function": {"name": "lookup_order", "arguments": '{"number": '}}]
            out.append((None, head | {"choices": [{"index": 0, "delta": {"tool_calls": calls}, "finish_reason": None}]}))
            more = [{"index": 0, "function": {"arguments": '"NW-10482"}'}}]
            out.append((None, head | {"choices": [{"index": 0, "delta": {"tool_calls": more}, "finish_reason": None}]}))
        for word in [] if call.behaviour.tool else _words(call.text):
            out.append((None, head | {"choices": [{"index": 0, "delta": {"content": word}, "finish_reason": None}]}))
        out.append((None, head | {"choices": [{"index": 0, "delta": {}, "finish_reason": self._finish(call)}]}))
        out.append((None, head | {"choices": [], "usage": self._usage(call)}))
        out.append((None, "[DONE]"))
        return out

    def error(self, status: int, call: Call) -> dict[str, Any]:
        kind = {429: "rate_limit_exceeded", 401: "invalid_api_key"}.get(status, "server_error")
        return {"error": {"message": f"fake error {status}", "type": kind, "param": None, "code": kind}}

    def context_error(self) -> tuple[int, dict[str, Any]]:
        message = "This model's maximum context length is 8192 tokens. However, your messages resulted in 9001 tokens."
        return 400, {"error": {"message": message, "type": "invalid_request_error", "param": "messages", "code": "context_length_exceeded"}}

    def refusal(self, call: Call) -> web.Response:
        message = "Your request was rejected as a result of our safety system."
        return web.json_response({"error": {"message": message, "type": "invalid_request_error", "code": "content_policy_violation"}}, status=400)


class AnthropicFormat(Format):
    def read(self, request: web.Request, body: dict[str, Any]) -> tuple[str, list[tuple[str, str]], bool]:
        turns = [("system", body.get("system") or "")]
        for m in body["messages"]:
            content = m["content"]
            text = content if isinstance(content, str) else " ".join(b.get("text", "") for b in content if b.get("type") == "text")
            turns.append((m["role"], text))
        return body["model"], turns, bool(body.get("stream"))

    def _usage(self, call: Call) -> dict[str, Any]:
        prompt, completion = call.usage()
        return {"input_tokens": prompt - call.behaviour.cached, "output_tokens": completion,
                "cache_read_input_tokens": call.behaviour.cached, "cache_creation_input_tokens": 0}  # fmt: skip

    def _stop(self, call: Call) -> str:
        return "tool_use" if call.behaviour.tool else "max_tokens" if call.behaviour.cutoff else "end_turn"

    def _tool(self) -> dict[str, Any]:
        return {"type": "tool_use", "id": "toolu_1", "name": "lookup_order", "input": {"number": "NW-10482"}}

    def answer(self, call: Call) -> dict[str, Any]:
        content = [self._tool()] if call.behaviour.tool else [{"type": "text", "text": call.text}]
        return {"id": "msg_fake", "type": "message", "role": "assistant", "model": call.model, "content": content,
                "stop_reason": self._stop(call), "stop_sequence": None, "usage": self._usage(call)}  # fmt: skip

    def chunks(self, call: Call) -> list[tuple[str | None, dict[str, Any] | str]]:
        usage = self._usage(call)
        start = {"id": "msg_fake", "type": "message", "role": "assistant", "model": call.model, "content": [],
                 "stop_reason": None, "usage": usage | {"output_tokens": 1}}  # fmt: skip
        out: list[tuple[str | None, dict[str, Any] | str]] = [
            ("message_start", {"type": "message_start", "message": start}),
            ("ping", {"type": "ping"}),
        ]
        if call.behaviour.tool:
            tool = self._tool() | {"input": {}}
            out.append(("content_block_start", {"type": "content_block_start", "index": 0, "content_block": tool}))
            for part in ('{"number": ', '"NW-10482"}'):
                delta = {"type": "input_json_delta", "partial_json": part}
                out.append(("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": delta}))
        else:
            out.append(("content_block_start", {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}))
            for word in _words(call.text):
                delta = {"type": "text_delta", "text": word}
                out.append(("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": delta}))
        out.append(("content_block_stop", {"type": "content_block_stop", "index": 0}))
        final = {"type": "message_delta", "delta": {"stop_reason": self._stop(call)}, "usage": {"output_tokens": usage["output_tokens"]}}
        out += [("message_delta", final), ("message_stop", {"type": "message_stop"})]
        return out

    def error(self, status: int, call: Call) -> dict[str, Any]:
        kind = {429: "rate_limit_error", 529: "overloaded_error", 401: "authentication_error"}.get(status, "api_error")
        return {"type": "error", "error": {"type": kind, "message": f"fake error {status}"}}

    def context_error(self) -> tuple[int, dict[str, Any]]:
        message = "prompt is too long: 210000 tokens > 200000 maximum"
        return 400, {"type": "error", "error": {"type": "invalid_request_error", "message": message}}

    def refusal(self, call: Call) -> web.Response:
        answer = self.answer(call) | {"content": [], "stop_reason": "refusal"}
        return web.json_response(answer)

    def refusal_chunks(self, call: Call) -> list[tuple[str | None, dict[str, Any] | str]]:
        chunks = self.chunks(replace(call, behaviour=replace(call.behaviour, empty=True)))
        return [(e, {"type": "message_delta", "delta": {"stop_reason": "refusal"}, "usage": {"output_tokens": 0}} if e == "message_delta" else d) for e, d in chunks]


class GeminiFormat(Format):
    def read(self, request: web.Request, body: dict[str, Any]) -> tuple[str, list[tuple[str, str]], bool]:
        model, _, action = request.match_info["target"].partition(":")
        turns = [("system", " ".join(p.get("text", "") for p in (body.get("systemInstruction") or {}).get("parts", [])))]
        turns += [(c.get("role", "user"), " ".join(p.get("text", "") for p in c["parts"])) for c in body["contents"]]
        return model, turns, action == "streamGenerateContent"

    def _usage(self, call: Call) -> dict[str, Any]:
        prompt, completion = call.usage()
        visible = completion - call.behaviour.reasoning
        return {"promptTokenCount": prompt, "candidatesTokenCount": visible, "thoughtsTokenCount": call.behaviour.reasoning,
                "cachedContentTokenCount": call.behaviour.cached, "totalTokenCount": prompt + completion}  # fmt: skip

    def _chunk(self, parts: list[dict[str, Any]], finish: str | None, call: Call) -> dict[str, Any]:
        candidate: dict[str, Any] = {"content": {"role": "model", "parts": parts}, "index": 0}
        if finish:
            candidate["finishReason"] = finish
        return {"candidates": [candidate], "usageMetadata": self._usage(call), "modelVersion": call.model}

    def _parts(self, call: Call, text: str) -> list[dict[str, Any]]:
        if call.behaviour.tool:
            return [{"functionCall": {"name": "lookup_order", "args": {"number": "NW-10482"}}}]
        return [{"text": text}]

    def answer(self, call: Call) -> dict[str, Any]:
        return self._chunk(self._parts(call, call.text), "MAX_TOKENS" if call.behaviour.cutoff else "STOP", call)

    def chunks(self, call: Call) -> list[tuple[str | None, dict[str, Any] | str]]:
        words = [""] if call.behaviour.tool else _words(call.text) or [""]
        out: list[tuple[str | None, dict[str, Any] | str]] = [(None, self._chunk([{"text": w}], None, call)) for w in words[:-1]]
        out.append((None, self._chunk(self._parts(call, words[-1]), "MAX_TOKENS" if call.behaviour.cutoff else "STOP", call)))
        return out

    def error(self, status: int, call: Call) -> dict[str, Any]:
        kind = {429: "RESOURCE_EXHAUSTED", 503: "UNAVAILABLE"}.get(status, "INTERNAL")
        error: dict[str, Any] = {"code": status, "message": f"fake error {status}", "status": kind}
        if status == 429:
            retry = {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": f"{call.behaviour.retry_after:g}s"}
            error["details"] = [retry]
        return {"error": error}

    def context_error(self) -> tuple[int, dict[str, Any]]:
        message = "The input token count (1200000) exceeds the maximum number of tokens allowed (1048576)."
        return 400, {"error": {"code": 400, "message": message, "status": "INVALID_ARGUMENT"}}

    def refusal(self, call: Call) -> web.Response:
        return web.json_response(self.refusal_chunks(call)[0][1])

    def refusal_chunks(self, call: Call) -> list[tuple[str | None, dict[str, Any] | str]]:
        return [(None, {"promptFeedback": {"blockReason": "SAFETY"}, "usageMetadata": self._usage(call)})]


def _handler(fmt: Format, state: FakeProviders) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handle(request: web.Request) -> web.StreamResponse:
        body = await request.json()
        model, turns, stream = fmt.read(request, body)
        if state.record:
            state.requests.append({"path": request.path, "body": body, "authorization": request.headers.get("Authorization"), "headers": dict(request.headers)})
        state.calls[model] += 1
        last_user = next((text for role, text in reversed(turns) if role == "user"), "")
        marked = last_user.split(" ", 1)[0].removeprefix("fake:") if last_user.startswith("fake:") else None
        behaviour = Behaviour.parse(request.headers.get("X-Fake-Behaviour") or marked or model)
        prompt_tokens = sum(len(text.split()) for _, text in turns)
        call = Call(model, last_user, prompt_tokens, stream, behaviour)
        if behaviour.slow:
            await asyncio.sleep(behaviour.slow)
        if behaviour.flaky and state.calls[model] <= behaviour.flaky:
            return web.json_response(fmt.error(503, call), status=503)
        if behaviour.error:
            headers = {"Retry-After": f"{behaviour.retry_after:g}"} if behaviour.error == 429 else None
            return web.json_response(fmt.error(behaviour.error, call), status=behaviour.error, headers=headers)
        if behaviour.context:
            status, error = fmt.context_error()
            return web.json_response(error, status=status)
        if behaviour.policy:
            chunks = fmt.refusal_chunks(call) if stream else None
            return await _stream(request, chunks, behaviour) if chunks else fmt.refusal(call)
        if behaviour.garbage:
            return web.Response(text="<html><body>502 Bad Gateway</body></html>", content_type="text/html")
        if stream:
            return await _stream(request, fmt.chunks(call), behaviour)
        payload = json.dumps(fmt.answer(call))
        if behaviour.first_token:
            await asyncio.sleep(behaviour.first_token)
        if behaviour.truncate:
            return web.Response(text=payload[: len(payload) // 2], content_type="application/json")
        if behaviour.drop:
            return await _drop(request, payload.encode())
        return web.Response(text=payload, content_type="application/json")

    return handle


async def _stream(request: web.Request, chunks: list[tuple[str | None, Any]], behaviour: Behaviour) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
    await response.prepare(request)
    if behaviour.first_token:
        await asyncio.sleep(behaviour.first_token)
    cut = len(chunks) // 2 if behaviour.truncate or behaviour.drop else len(chunks) - behaviour.no_marker
    try:
        for i, (event, data) in enumerate(chunks[:cut]):
            if i and behaviour.chunk_delay:
                await asyncio.sleep(behaviour.chunk_delay)
            text = data if isinstance(data, str) else json.dumps(data)
            await response.write((f"event: {event}\n" if event else "").encode() + f"data: {text}\n\n".encode())
        if behaviour.drop and request.transport is not None:
            request.transport.close()  # mid-body: the client sees the connection go
            return response
        await response.write_eof()
    except ConnectionError:
        pass  # the client gave up (its own timeout): nothing more to send
    return response


async def _drop(request: web.Request, payload: bytes) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": "application/json", "Content-Length": str(len(payload))})
    await response.prepare(request)
    await response.write(payload[: len(payload) // 2])
    if request.transport is not None:
        request.transport.close()
    return response


def build_app(state: FakeProviders) -> web.Application:
    openai = _handler(OpenAIFormat(), state)
    app = web.Application(client_max_size=16 * 1024 * 1024)
    app.router.add_post("/openai/v1/chat/completions", openai)
    app.router.add_post("/v1/chat/completions", openai)
    app.router.add_post("/anthropic/v1/messages", _handler(AnthropicFormat(), state))
    app.router.add_post("/gemini/v1beta/models/{target}", _handler(GeminiFormat(), state))
    return app


@asynccontextmanager
async def fake_providers(record: bool = True) -> AsyncIterator[FakeProviders]:
    """The server on a loopback port. Standalone (no Switchboard app), so bench/ can use it."""
    state = FakeProviders(record=record)
    runner = web.AppRunner(build_app(state), access_log=None, shutdown_timeout=2)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    state.base_url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        yield state
    finally:
        await runner.cleanup()

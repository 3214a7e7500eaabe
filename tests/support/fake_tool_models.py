"""Scripted models that call tools, in the OpenAI, Anthropic and Gemini wire formats.

A test gives each model name a policy: a function from what the model was asked (the messages
read back from the provider's wire format into one neutral shape, and the tools it was offered)
to its answer, text or tool calls (several at once: parallel calls) or an HTTP error. The
answer goes out as the provider writes it, whole or streamed (OpenAI `tool_calls` deltas with
index, id and argument pieces; Anthropic `tool_use` blocks with `input_json_delta`; Gemini
`functionCall` parts), with ids, finish reasons and usage of the provider's own kind.

Every request is recorded, body included, so a test can assert what went over the wire. Like
the real APIs, the fake turns down with a 400 a conversation a provider would refuse (a tool
call without its result next, a result for no call, Anthropic tool blocks without `tools`,
Gemini's answers to parallel calls split up, a Gemini call sent back without its
`thoughtSignature`, a Gemini `parameters` schema with keywords outside its OpenAPI subset);
what it turned down is kept in `rejected`.

Mounted at `/openai/v1/chat/completions`, `/anthropic/v1/messages` and
`/gemini/v1beta/models/{model}:generateContent` (or `:streamGenerateContent?alt=sse`).
"""

from __future__ import annotations

import json
import secrets
import string
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.support.server import running_app

PROVIDERS = ("openai", "anthropic", "gemini")
_ALNUM = string.ascii_letters + string.digits

# What Gemini takes for a call it did not make itself (another model's), in place of a signature.
SKIP_SIGNATURE = "skip_thought_signature_validator"
# What Gemini's `parameters` (an OpenAPI 3.0 subset) has fields for; anything else is refused
# when the request is parsed. `parametersJsonSchema` takes full JSON Schema instead.
GEMINI_SCHEMA_FIELDS = frozenset(
    {
        "type", "format", "title", "description", "nullable", "enum", "maxItems", "minItems", "properties",
        "required", "minProperties", "maxProperties", "minLength", "maxLength", "pattern", "example", "anyOf",
        "propertyOrdering", "default", "items", "minimum", "maximum",
    }
)  # fmt: skip


# -- what the model was asked, in neutral terms ---------------------------------------------


@dataclass(frozen=True)
class Use:
    """A tool call: one the model makes, or one in the conversation it was sent."""

    name: str
    arguments: dict[str, Any] = field(default_factory=dict)
    id: str | None = None  # Gemini calls carry none


@dataclass(frozen=True)
class Result:
    """A tool's result sent back to the model."""

    id: str | None  # the call it answers (OpenAI, Anthropic); Gemini answers by name
    name: str | None  # the function's name (Gemini)
    content: str

    @property
    def data(self) -> Any:
        try:
            return json.loads(self.content)
        except ValueError:
            return self.content


@dataclass(frozen=True)
class Said:
    """One message of the conversation; `role` is system, user, assistant or tool (results)."""

    role: str
    text: str = ""
    tool_calls: tuple[Use, ...] = ()
    tool_results: tuple[Result, ...] = ()


@dataclass(frozen=True)
class Offered:
    name: str
    description: str
    parameters: dict[str, Any]


@dataclass(frozen=True)
class Asked:
    provider: str
    model: str
    stream: bool
    messages: list[Said]
    tools: list[Offered]
    tool_choice_none: bool = False  # tools declared but none may be called

    @property
    def tool_names(self) -> list[str]:
        return [] if self.tool_choice_none else [t.name for t in self.tools]

    @property
    def last_user(self) -> str:
        return next((m.text for m in reversed(self.messages) if m.role == "user" and m.text), "")

    @property
    def this_turn(self) -> list[Said]:
        """The messages since the customer's last one: this turn's tool rounds."""
        at = max((i for i, m in enumerate(self.messages) if m.role == "user" and m.text), default=-1)
        return self.messages[at + 1 :]

    def results(self, name: str | None = None) -> list[tuple[Use, Result]]:
        """This turn's tool results with the calls they answer (matched by id, or by name and order)."""
        out: list[tuple[Use, Result]] = []
        calls: list[Use] = []
        for message in self.this_turn:
            calls += message.tool_calls
            for result in message.tool_results:
                match = next((c for c in calls if c.id is not None and c.id == result.id), None)
                if match is None:
                    match = next((c for c in calls if c.id is None and c.name == result.name), None)
                if match is not None:
                    calls.remove(match)
                    out.append((match, result))
        return [(c, r) for c, r in out if name is None or c.name == name]


# -- what the model answers -----------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    text: str = ""
    calls: tuple[Use, ...] = ()
    error: int | None = None  # an HTTP error status instead of an answer


def say(text: str) -> Answer:
    return Answer(text=text)


def call(name: str, _text: str = "", **arguments: Any) -> Answer:
    return Answer(text=_text, calls=(Use(name, arguments),))


def calls(*uses: Use, text: str = "") -> Answer:
    return Answer(text=text, calls=tuple(uses))


def fail(status: int) -> Answer:
    return Answer(error=status)


Policy = Callable[[Asked], Answer]


@dataclass(frozen=True)
class Recorded:
    provider: str
    model: str
    stream: bool
    body: dict[str, Any]
    asked: Asked
    answer: Answer | None  # None: turned down before the policy was asked
    call_ids: tuple[str | None, ...] = ()  # the ids the answer's calls went out with (Gemini's: none)


@dataclass
class ToolModels:
    base_url: str = ""
    policies: dict[str, Policy] = field(default_factory=dict)
    requests: list[Recorded] = field(default_factory=list)
    rejected: list[tuple[str, str]] = field(default_factory=list)  # (model, why), as a real API would refuse
    signatures: set[str] = field(default_factory=set)  # Gemini thought signatures handed out

    def url(self, provider: str) -> str:
        return {
            "openai": f"{self.base_url}/openai/v1",
            "anthropic": f"{self.base_url}/anthropic/v1",
            "gemini": f"{self.base_url}/gemini/v1beta",
        }[provider]

    def script(self, model: str, policy: Policy) -> None:
        self.policies[model] = policy

    def to(self, model: str) -> list[Recorded]:
        return [r for r in self.requests if r.model == model]


class Refused(Exception):
    """A request the real API answers with 400."""


def _id(prefix: str, length: int) -> str:
    return prefix + "".join(secrets.choice(_ALNUM) for _ in range(length))


def _pieces(text: str, size: int = 7) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def _words(text: str) -> list[str]:
    words = text.split(" ")
    return [w if i == 0 else " " + w for i, w in enumerate(words)] if text else []


def _tokens(asked: Asked) -> int:
    return sum(len(m.text.split()) + len(m.tool_results) * 20 for m in asked.messages) + 40 * len(asked.tools)


# -- OpenAI Chat Completions ----------------------------------------------------------------


class OpenAIWire:
    provider = "openai"

    def call_id(self) -> str | None:
        return _id("call_", 24)

    def read(self, request: web.Request, body: dict[str, Any]) -> Asked:
        messages: list[Said] = []
        waiting: set[str] = set()
        for i, m in enumerate(body["messages"]):
            role = m["role"]
            if role == "tool":
                if m.get("tool_call_id") not in waiting:
                    raise Refused(
                        f"Invalid parameter: messages with role 'tool' must be a response to a preceeding message with 'tool_calls'. (messages.[{i}])"
                    )
                waiting.discard(m["tool_call_id"])
                result = Result(m["tool_call_id"], m.get("name"), _openai_text(m.get("content")))
                if messages and messages[-1].role == "tool":
                    messages[-1] = Said("tool", tool_results=messages[-1].tool_results + (result,))
                else:
                    messages.append(Said("tool", tool_results=(result,)))
                continue
            if waiting:
                raise Refused(
                    "An assistant message with 'tool_calls' must be followed by tool messages responding to each "
                    f"'tool_call_id'. The following tool_call_ids did not have response messages: {', '.join(sorted(waiting))}"
                )
            uses = tuple(
                Use(c["function"]["name"], json.loads(c["function"].get("arguments") or "{}"), c["id"])
                for c in m.get("tool_calls") or []
            )
            waiting = {u.id for u in uses if u.id}
            messages.append(Said(role if role != "developer" else "system", _openai_text(m.get("content")), uses))
        if waiting:
            raise Refused(
                "An assistant message with 'tool_calls' must be followed by tool messages responding to each "
                f"'tool_call_id'. The following tool_call_ids did not have response messages: {', '.join(sorted(waiting))}"
            )
        tools = [
            Offered(t["function"]["name"], t["function"].get("description", ""), t["function"].get("parameters") or {})
            for t in body.get("tools") or []
        ]
        return Asked("openai", body["model"], bool(body.get("stream")), messages, tools, body.get("tool_choice") == "none")

    def _calls(self, answer: Answer, ids: tuple[str | None, ...]) -> list[dict[str, Any]]:
        return [
            {"id": i, "type": "function", "function": {"name": u.name, "arguments": json.dumps(u.arguments)}}
            for u, i in zip(answer.calls, ids, strict=True)
        ]

    def _usage(self, asked: Asked, answer: Answer) -> dict[str, Any]:
        prompt, completion = _tokens(asked), len(answer.text.split()) + 12 * len(answer.calls)
        return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion,
                "prompt_tokens_details": {"cached_tokens": 0}, "completion_tokens_details": {"reasoning_tokens": 0}}  # fmt: skip

    def answer(self, asked: Asked, answer: Answer, ids: tuple[str | None, ...]) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": answer.text or None, "refusal": None}
        if answer.calls:
            message["tool_calls"] = self._calls(answer, ids)
        return {
            "id": _id("chatcmpl-", 29), "object": "chat.completion", "created": 1764892800, "model": asked.model,
            "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": "tool_calls" if answer.calls else "stop"}],
            "usage": self._usage(asked, answer), "system_fingerprint": "fp_fake",
        }  # fmt: skip

    def events(self, asked: Asked, answer: Answer, ids: tuple[str | None, ...]) -> list[tuple[str | None, Any]]:
        head = {"id": _id("chatcmpl-", 29), "object": "chat.completion.chunk", "created": 1764892800, "model": asked.model}

        def chunk(delta: dict[str, Any], finish: str | None = None) -> tuple[None, dict[str, Any]]:
            return None, head | {"choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]}

        out = [chunk({"role": "assistant", "content": None if not answer.text else "", "refusal": None})]
        out += [chunk({"content": word}) for word in _words(answer.text)]
        for index, made in enumerate(self._calls(answer, ids)):
            # The id and the name come once, in the call's first delta; the arguments in pieces after.
            first = {"index": index, "id": made["id"], "type": "function", "function": {"name": made["function"]["name"], "arguments": ""}}
            out.append(chunk({"tool_calls": [first]}))
            for piece in _pieces(made["function"]["arguments"]):
                out.append(chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]}))
        out.append(chunk({}, "tool_calls" if answer.calls else "stop"))
        out.append((None, head | {"choices": [], "usage": self._usage(asked, answer)}))
        out.append((None, "[DONE]"))
        return out

    def error(self, status: int, message: str) -> dict[str, Any]:
        kind = "invalid_request_error" if status == 400 else "server_error"
        return {"error": {"message": message, "type": kind, "param": None, "code": None}}


def _openai_text(content: Any) -> str:
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if p.get("type") == "text")
    return content or ""


# -- Anthropic Messages ---------------------------------------------------------------------


class AnthropicWire:
    provider = "anthropic"

    def call_id(self) -> str | None:
        return _id("toolu_01", 22)

    def read(self, request: web.Request, body: dict[str, Any]) -> Asked:
        system = body.get("system") or ""
        if isinstance(system, list):
            system = " ".join(b.get("text", "") for b in system)
        messages: list[Said] = [Said("system", system)] if system else []
        seen: set[str] = set()
        waiting: list[str] = []
        has_tool_blocks = False
        for i, m in enumerate(body["messages"]):
            content = m["content"]
            blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content
            if not blocks or (isinstance(content, str) and not content and i < len(body["messages"]) - 1):
                raise Refused(f"messages.{i}: all messages must have non-empty content except for the optional final assistant message")
            for j, b in enumerate(blocks):
                if b["type"] == "text" and not b.get("text") and not isinstance(content, str):
                    raise Refused(f"messages.{i}.content.{j}: text content blocks must be non-empty")
            if waiting:
                got = [b.get("tool_use_id") for b in blocks[: len(waiting)] if b["type"] == "tool_result"]
                if m["role"] != "user" or sorted(got) != sorted(waiting):
                    raise Refused(
                        f"messages.{i}: `tool_use` ids were found without `tool_result` blocks immediately after: "
                        f"{', '.join(w for w in waiting if w not in got)}. Each `tool_use` block must have a corresponding "
                        "`tool_result` block in the next message."
                    )
            expected, waiting = set(waiting), []
            text = " ".join(b["text"] for b in blocks if b["type"] == "text")
            if m["role"] == "assistant":
                uses = []
                for j, b in enumerate(blocks):
                    if b["type"] != "tool_use":
                        continue
                    has_tool_blocks = True
                    if b["id"] in seen:
                        raise Refused(f"messages.{i}.content.{j}: `tool_use` ids must be unique")
                    seen.add(b["id"])
                    uses.append(Use(b["name"], b.get("input") or {}, b["id"]))
                waiting = [u.id for u in uses if u.id]
                messages.append(Said("assistant", text, tuple(uses)))
                continue
            results = []
            for j, b in enumerate(blocks):
                if b["type"] != "tool_result":
                    continue
                has_tool_blocks = True
                if b.get("tool_use_id") not in expected:
                    raise Refused(
                        f"messages.{i}.content.{j}: unexpected `tool_use_id` found in `tool_result` blocks: {b.get('tool_use_id')}. "
                        "Each `tool_result` block must have a corresponding `tool_use` block in the previous message."
                    )
                results.append(Result(b["tool_use_id"], None, _anthropic_text(b.get("content"))))
            if results:
                messages.append(Said("tool", tool_results=tuple(results)))
            if text or not results:
                messages.append(Said("user", text))
        if has_tool_blocks and not body.get("tools"):
            raise Refused("Requests which include `tool_use` or `tool_result` blocks must define tools.")
        tools = [Offered(t["name"], t.get("description", ""), t["input_schema"]) for t in body.get("tools") or []]
        choice_none = (body.get("tool_choice") or {}).get("type") == "none"
        return Asked("anthropic", body["model"], bool(body.get("stream")), messages, tools, choice_none)

    def _blocks(self, answer: Answer, ids: tuple[str | None, ...]) -> list[dict[str, Any]]:
        blocks: list[dict[str, Any]] = [{"type": "text", "text": answer.text}] if answer.text else []
        blocks += [{"type": "tool_use", "id": i, "name": u.name, "input": u.arguments} for u, i in zip(answer.calls, ids, strict=True)]
        return blocks

    def _usage(self, asked: Asked, answer: Answer) -> dict[str, Any]:
        return {"input_tokens": _tokens(asked), "output_tokens": len(answer.text.split()) + 12 * len(answer.calls),
                "cache_read_input_tokens": 0, "cache_creation_input_tokens": 0}  # fmt: skip

    def _stop(self, answer: Answer) -> str:
        return "tool_use" if answer.calls else "end_turn"

    def answer(self, asked: Asked, answer: Answer, ids: tuple[str | None, ...]) -> dict[str, Any]:
        return {"id": _id("msg_01", 22), "type": "message", "role": "assistant", "model": asked.model,
                "content": self._blocks(answer, ids), "stop_reason": self._stop(answer), "stop_sequence": None,
                "usage": self._usage(asked, answer)}  # fmt: skip

    def events(self, asked: Asked, answer: Answer, ids: tuple[str | None, ...]) -> list[tuple[str | None, Any]]:
        usage = self._usage(asked, answer)
        start = {"id": _id("msg_01", 22), "type": "message", "role": "assistant", "model": asked.model, "content": [],
                 "stop_reason": None, "stop_sequence": None, "usage": usage | {"output_tokens": 1}}  # fmt: skip
        out: list[tuple[str | None, Any]] = [("message_start", {"type": "message_start", "message": start}), ("ping", {"type": "ping"})]
        for index, block in enumerate(self._blocks(answer, ids)):
            if block["type"] == "text":
                opened: dict[str, Any] = {"type": "text", "text": ""}
                deltas = [{"type": "text_delta", "text": word} for word in _words(block["text"])]
            else:
                opened = block | {"input": {}}
                # As the API streams it: an empty piece first, then the JSON in pieces.
                deltas = [{"type": "input_json_delta", "partial_json": p} for p in ["", *_pieces(json.dumps(block["input"]))]]
            out.append(("content_block_start", {"type": "content_block_start", "index": index, "content_block": opened}))
            out += [("content_block_delta", {"type": "content_block_delta", "index": index, "delta": d}) for d in deltas]
            out.append(("content_block_stop", {"type": "content_block_stop", "index": index}))
        final = {"type": "message_delta", "delta": {"stop_reason": self._stop(answer), "stop_sequence": None},
                 "usage": {"output_tokens": usage["output_tokens"]}}  # fmt: skip
        out += [("message_delta", final), ("message_stop", {"type": "message_stop"})]
        return out

    def error(self, status: int, message: str) -> dict[str, Any]:
        kind = "invalid_request_error" if status == 400 else "api_error"
        return {"type": "error", "error": {"type": kind, "message": message}, "request_id": _id("req_011", 21)}


def _anthropic_text(content: Any) -> str:
    if isinstance(content, list):
        return "".join(b.get("text", "") for b in content if b.get("type") == "text")
    return content or ""


# -- Gemini generateContent -----------------------------------------------------------------


class GeminiWire:
    provider = "gemini"

    def __init__(self, state: ToolModels) -> None:
        self.state = state

    def call_id(self) -> str | None:
        return None  # Gemini's calls have no id: a result names its function

    def read(self, request: web.Request, body: dict[str, Any]) -> Asked:
        model, _, action = request.match_info["target"].partition(":")
        system = " ".join(p.get("text", "") for p in (body.get("systemInstruction") or {}).get("parts", []))
        messages: list[Said] = [Said("system", system)] if system else []
        contents = body["contents"]
        current = max((i for i, c in enumerate(contents) if c.get("role", "user") == "user" and any("text" in p for p in c["parts"])), default=-1)
        pending = 0
        for i, c in enumerate(contents):
            parts = c["parts"]
            responses = [p["functionResponse"] for p in parts if "functionResponse" in p]
            if pending and len(responses) != pending:
                raise Refused(
                    "Please ensure that the number of function response parts is equal to the number of function call parts of the function call turn."
                )
            text = "".join(p.get("text", "") for p in parts if not p.get("thought"))
            if c.get("role") == "model":
                called = [p for p in parts if "functionCall" in p]
                if called and i > current:
                    # The calls of the turn under way go back with the signature they came with.
                    signature = called[0].get("thoughtSignature")
                    if not signature:
                        raise Refused(
                            f"Function call is missing a thought_signature in functionCall parts. This is required for tools to work "
                            f"correctly, and missing thought_signature may lead to degraded model performance. Additional data, "
                            f"function call `default_api:{called[0]['functionCall']['name']}`, position {i + 1}."
                        )
                    if signature not in self.state.signatures and signature != SKIP_SIGNATURE:
                        raise Refused("Corrupted thought signature.")
                uses = tuple(Use(p["functionCall"]["name"], p["functionCall"].get("args") or {}, p["functionCall"].get("id")) for p in called)
                pending = len(uses)
                messages.append(Said("assistant", text, uses))
                continue
            pending = 0
            results = []
            for j, r in enumerate(responses):
                if not isinstance(r.get("response"), dict):
                    raise Refused(f"Invalid value at 'contents[{i}].parts[{j}].function_response.response' (type.googleapis.com/google.protobuf.Struct)")
                response = r["response"]
                content = response["content"] if set(response) == {"content"} and isinstance(response["content"], str) else json.dumps(response)
                results.append(Result(r.get("id"), r.get("name"), content))
            if results:
                messages.append(Said("tool", tool_results=tuple(results)))
            if text or not results:
                messages.append(Said("user", text))
        tools: list[Offered] = []
        for t, group in enumerate(body.get("tools") or []):
            for d, declared in enumerate(group.get("functionDeclarations") or []):
                where = f"tools[{t}].function_declarations[{d}]"
                if "parameters" in declared and "parametersJsonSchema" in declared:
                    raise Refused(f"{where}: `parameters` and `parameters_json_schema` cannot both be set")
                if "parameters" in declared:
                    _openapi_subset(declared["parameters"], f"{where}.parameters")
                schema = declared.get("parametersJsonSchema") or declared.get("parameters") or {}
                tools.append(Offered(declared["name"], declared.get("description", ""), schema))
        mode = ((body.get("toolConfig") or {}).get("functionCallingConfig") or {}).get("mode")
        return Asked("gemini", model, action == "streamGenerateContent", messages, tools, mode == "NONE")

    def _parts(self, answer: Answer, text: str, with_calls: bool) -> list[dict[str, Any]]:
        parts: list[dict[str, Any]] = [{"text": text}] if text else []
        if with_calls:
            for index, u in enumerate(answer.calls):
                part: dict[str, Any] = {"functionCall": {"name": u.name, "args": u.arguments}}
                if index == 0:  # of parallel calls, only the first carries the signature
                    signature = secrets.token_urlsafe(48)
                    self.state.signatures.add(signature)
                    part["thoughtSignature"] = signature
                parts.append(part)
        return parts

    def _response(self, asked: Asked, answer: Answer, parts: list[dict[str, Any]], finish: bool) -> dict[str, Any]:
        candidate: dict[str, Any] = {"content": {"role": "model", "parts": parts}, "index": 0}
        if finish:
            candidate["finishReason"] = "STOP"  # Gemini says STOP after function calls too
        prompt, output = _tokens(asked), len(answer.text.split()) + 12 * len(answer.calls)
        usage = {"promptTokenCount": prompt, "candidatesTokenCount": output, "totalTokenCount": prompt + output}
        return {"candidates": [candidate], "usageMetadata": usage, "modelVersion": asked.model, "responseId": _id("", 22)}

    def answer(self, asked: Asked, answer: Answer, ids: tuple[str | None, ...]) -> dict[str, Any]:
        return self._response(asked, answer, self._parts(answer, answer.text, True), True)

    def events(self, asked: Asked, answer: Answer, ids: tuple[str | None, ...]) -> list[tuple[str | None, Any]]:
        words = _words(answer.text)
        out: list[tuple[str | None, Any]] = [(None, self._response(asked, answer, [{"text": w}], False)) for w in words[:-1]]
        last = words[-1] if words else ""
        out.append((None, self._response(asked, answer, self._parts(answer, last, True), True)))
        return out

    def error(self, status: int, message: str) -> dict[str, Any]:
        kind = {400: "INVALID_ARGUMENT", 503: "UNAVAILABLE"}.get(status, "INTERNAL")
        return {"error": {"code": status, "message": message, "status": kind}}


def _openapi_subset(schema: Any, where: str) -> None:
    if not isinstance(schema, dict):
        return
    for key, value in schema.items():
        if key not in GEMINI_SCHEMA_FIELDS:
            raise Refused(f"Invalid JSON payload received. Unknown name \"{key}\" at '{where}': Cannot find field.")
        if key == "properties" and isinstance(value, dict):
            for name, inner in value.items():
                _openapi_subset(inner, f"{where}.properties[{name}].value")
        elif key == "items":
            _openapi_subset(value, f"{where}.items")
        elif key == "anyOf" and isinstance(value, list):
            for k, inner in enumerate(value):
                _openapi_subset(inner, f"{where}.any_of[{k}]")


# -- the server -----------------------------------------------------------------------------

Wire = OpenAIWire | AnthropicWire | GeminiWire


def _handler(wire: Wire, state: ToolModels) -> Callable[[web.Request], Any]:
    async def handle(request: web.Request) -> web.StreamResponse:
        body = await request.json()
        model = body.get("model") or request.match_info.get("target", "").partition(":")[0]
        stream = bool(body.get("stream")) or request.match_info.get("target", "").endswith(":streamGenerateContent")
        try:
            asked = wire.read(request, body)
        except Refused as refused:
            state.rejected.append((model, str(refused)))
            state.requests.append(Recorded(wire.provider, model, stream, body, Asked(wire.provider, model, stream, [], []), None))
            return web.json_response(wire.error(400, str(refused)), status=400)
        policy = state.policies.get(asked.model)
        if policy is None:
            state.requests.append(Recorded(wire.provider, model, stream, body, asked, None))
            return web.json_response(wire.error(404, f"model {asked.model!r} not found"), status=404)
        answer = policy(asked)
        ids = tuple(wire.call_id() for _ in answer.calls)
        state.requests.append(Recorded(wire.provider, asked.model, asked.stream, body, asked, answer, ids))
        if answer.error is not None:
            return web.json_response(wire.error(answer.error, f"fake error {answer.error}"), status=answer.error)
        if not asked.stream:
            return web.json_response(wire.answer(asked, answer, ids))
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
        await response.prepare(request)
        for event, data in wire.events(asked, answer, ids):
            text = data if isinstance(data, str) else json.dumps(data)
            await response.write((f"event: {event}\n" if event else "").encode() + f"data: {text}\n\n".encode())
        await response.write_eof()
        return response

    return handle


def build_app(state: ToolModels) -> web.Application:
    app = web.Application(client_max_size=16 * 1024 * 1024)
    app.router.add_post("/openai/v1/chat/completions", _handler(OpenAIWire(), state))
    app.router.add_post("/anthropic/v1/messages", _handler(AnthropicWire(), state))
    app.router.add_post("/gemini/v1beta/models/{target}", _handler(GeminiWire(state), state))
    return app


@asynccontextmanager
async def fake_tool_models(policies: dict[str, Policy] | None = None) -> AsyncIterator[ToolModels]:
    """The scripted models on a loopback port."""
    state = ToolModels(policies=dict(policies or {}))
    async with running_app(build_app(state)) as base_url:
        state.base_url = base_url
        yield state

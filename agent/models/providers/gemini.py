"""Google Gemini `generateContent` and `streamGenerateContent` (SSE), with usageMetadata."""

from __future__ import annotations

import json
import uuid
from typing import Any

from agent.models.base import ChatMessage, ChatRequest, ChatResult, ModelError, Outcome, ToolCall
from agent.models.providers.http import HTTPProvider, ModelSpec, SSEEvent, StreamParser, ms_since

FINISH = {"STOP": "stop", "MAX_TOKENS": "length"}
BLOCKED = {"SAFETY", "PROHIBITED_CONTENT", "BLOCKLIST", "SPII", "RECITATION", "IMAGE_SAFETY"}
# What Gemini takes in place of a thought signature for calls it did not make (another
# provider's, before a fallback): its thinking models refuse this turn's calls without one.
FOREIGN_CALL_SIGNATURE = "skip_thought_signature_validator"


def to_gemini(messages: list[ChatMessage]) -> tuple[str, list[dict[str, Any]]]:
    system = "\n\n".join(m.content for m in messages if m.role == "system")
    contents: list[dict[str, Any]] = []
    for m in messages:
        if m.role == "system":
            continue
        if m.role == "tool":
            # Gemini matches a result to its call by the function's name.
            response = {"functionResponse": {"name": m.name or m.tool_call_id or "", "response": {"content": m.content}}}
            previous = contents[-1] if contents else None
            if previous and previous["role"] == "user" and all("functionResponse" in p for p in previous["parts"]):
                previous["parts"].append(response)  # the answers to parallel calls go back in one turn
            else:
                contents.append({"role": "user", "parts": [response]})
            continue
        parts: list[dict[str, Any]] = [{"text": m.content}] if m.content else []
        foreign = bool(m.tool_calls) and not any(c.signature for c in m.tool_calls)
        parts += [_function_call(c, FOREIGN_CALL_SIGNATURE if foreign and i == 0 else None) for i, c in enumerate(m.tool_calls)]
        contents.append({"role": "model" if m.role == "assistant" else "user", "parts": parts or [{"text": ""}]})
    return system, contents


def _function_call(call: ToolCall, stand_in: str | None) -> dict[str, Any]:
    part: dict[str, Any] = {"functionCall": {"name": call.name, "args": json.loads(call.arguments or "{}")}}
    if call.signature or stand_in:
        part["thoughtSignature"] = call.signature or stand_in  # back exactly as it came, on the same part
    return part


def _usage(meta: dict[str, Any]) -> dict[str, int]:
    thoughts = int(meta.get("thoughtsTokenCount") or 0)
    return {
        "input_tokens": int(meta.get("promptTokenCount") or 0),
        # Thinking is billed as output; Gemini counts it apart from the candidates.
        "output_tokens": int(meta.get("candidatesTokenCount") or 0) + thoughts,
        "cached_tokens": int(meta.get("cachedContentTokenCount") or 0),
        "reasoning_tokens": thoughts,
    }


def _read_chunk(chunk: dict[str, Any]) -> tuple[str, list[ToolCall], str | None]:
    """Text, function calls and finish reason of one response (or one streamed chunk)."""
    feedback = chunk.get("promptFeedback") or {}
    if feedback.get("blockReason"):
        raise ModelError(Outcome.CONTENT_POLICY, f"prompt blocked: {feedback['blockReason']}")
    candidates = chunk.get("candidates") or []
    if not candidates:
        return "", [], None
    candidate = candidates[0]
    finish = candidate.get("finishReason")
    if finish in BLOCKED:
        raise ModelError(Outcome.CONTENT_POLICY, f"answer blocked: {finish}")
    parts = (candidate.get("content") or {}).get("parts") or []
    text = "".join(p.get("text", "") for p in parts if not p.get("thought"))
    calls = [
        ToolCall(
            # Gemini answers a call by its name; an id of our own still tells parallel calls
            # apart for a provider that answers by id (after a fallback).
            p["functionCall"].get("id") or "call_" + uuid.uuid4().hex[:24],
            p["functionCall"]["name"],
            json.dumps(p["functionCall"].get("args") or {}),
            p.get("thoughtSignature"),
        )
        for p in parts
        if "functionCall" in p
    ]
    return text, calls, finish


class GeminiProvider(HTTPProvider):
    provider = "gemini"

    def auth_headers(self, spec: ModelSpec) -> dict[str, str]:
        return {spec.api_key_header or "x-goog-api-key": spec.api_key} if spec.api_key else {}

    def url(self, stream: bool) -> str:
        base = (self.spec.base_url or "https://generativelanguage.googleapis.com/v1beta").rstrip("/")
        action = "streamGenerateContent?alt=sse" if stream else "generateContent"
        return f"{base}/models/{self.model}:{action}"

    def body(self, request: ChatRequest, stream: bool) -> dict[str, Any]:
        system, contents = to_gemini(request.messages)
        body: dict[str, Any] = {
            "contents": contents,
            "generationConfig": {
                "maxOutputTokens": request.max_tokens or self.spec.max_tokens,
                "temperature": self.spec.temperature if request.temperature is None else request.temperature,
            },
        }
        if system:
            body["systemInstruction"] = {"parts": [{"text": system}]}
        if request.tools:
            # `parametersJsonSchema` takes JSON Schema as it is; `parameters`, an OpenAPI subset,
            # refuses the whole request over keywords such as `additionalProperties`.
            declarations = [{"name": t.name, "description": t.description, "parametersJsonSchema": t.parameters} for t in request.tools]
            body["tools"] = [{"functionDeclarations": declarations}]
            if request.tool_choice == "none":
                body["toolConfig"] = {"functionCallingConfig": {"mode": "NONE"}}
        return body

    def parse(self, payload: dict[str, Any], started: float, ttft: float) -> ChatResult:
        if not payload.get("candidates") and not payload.get("promptFeedback"):
            raise ModelError(Outcome.BAD_RESPONSE, "no candidates in the answer")
        text, calls, finish = _read_chunk(payload)
        return ChatResult(
            text=text,
            model=self.name,
            latency_ms=ms_since(started),
            ttft_ms=ms_since(started, ttft),
            finish_reason="tool_calls" if calls else FINISH.get(finish or "STOP", (finish or "stop").lower()),
            tool_calls=tuple(calls),
            provider_model=payload.get("modelVersion"),
            **_usage(payload.get("usageMetadata") or {}),
        )

    def stream_parser(self) -> StreamParser:
        return _GeminiStream()


class _GeminiStream(StreamParser):
    """Each event is a whole GenerateContentResponse; the one with a finishReason is the last."""

    def __init__(self) -> None:
        self.text: list[str] = []
        self.calls: list[ToolCall] = []
        self.finish: str | None = None
        self.usage: dict[str, Any] = {}
        self.model: str | None = None

    def feed(self, event: SSEEvent) -> str | None:
        chunk = json.loads(event.data)
        if "error" in chunk:
            raise ModelError(Outcome.SERVER_ERROR, f"error in stream: {str(chunk['error'])[:200]}")
        self.model = chunk.get("modelVersion") or self.model
        self.usage = chunk.get("usageMetadata") or self.usage
        text, calls, finish = _read_chunk(chunk)
        self.calls += calls
        if text or calls:
            self.progress = True
        if finish:
            self.finish = finish
            self.done = True
        if text:
            self.text.append(text)
        return text or None

    def result(self, model: str, started: float, ttft: float | None) -> ChatResult:
        finish = self.finish or "STOP"
        return ChatResult(
            text="".join(self.text),
            model=model,
            latency_ms=ms_since(started),
            ttft_ms=ms_since(started, ttft) if ttft else None,
            finish_reason="tool_calls" if self.calls else FINISH.get(finish, finish.lower()),
            tool_calls=tuple(self.calls),
            provider_model=self.model,
            **_usage(self.usage),
        )

"""Anthropic's Messages API, streamed (named SSE events) or not; cache tokens counted."""

from __future__ import annotations

import json
from typing import Any

from agent.models.base import ChatMessage, ChatRequest, ChatResult, ModelError, Outcome, ToolCall
from agent.models.providers.http import HTTPProvider, ModelSpec, SSEEvent, StreamParser, ms_since

API_VERSION = "2023-06-01"
FINISH = {"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length", "tool_use": "tool_calls", "pause_turn": "stop"}


def to_anthropic(messages: list[ChatMessage]) -> tuple[str, list[dict[str, Any]]]:
    """The system prompt apart, and the turns as content blocks (tool calls and results too)."""
    system = "\n\n".join(m.content for m in messages if m.role == "system")
    turns: list[dict[str, Any]] = []
    for m in messages:
        if m.role == "system":
            continue
        if m.role == "tool":
            block: dict[str, Any] = {"type": "tool_result", "tool_use_id": m.tool_call_id or "", "content": m.content}
            previous = turns[-1] if turns else None
            if previous and previous["role"] == "user" and isinstance(previous["content"], list):
                previous["content"].append(block)  # every result of one round in one user turn, as the API asks
            else:
                turns.append({"role": "user", "content": [block]})
        elif m.tool_calls:
            blocks: list[dict[str, Any]] = [{"type": "text", "text": m.content}] if m.content else []
            blocks += [{"type": "tool_use", "id": c.id, "name": c.name, "input": json.loads(c.arguments or "{}")} for c in m.tool_calls]
            turns.append({"role": "assistant", "content": blocks})
        else:
            turns.append({"role": "assistant" if m.role == "assistant" else "user", "content": m.content})
    return system, turns


def _usage(usage: dict[str, Any]) -> dict[str, int]:
    # Anthropic's input_tokens leaves out the cached part; ours counts the whole prompt.
    read = int(usage.get("cache_read_input_tokens") or 0)
    written = int(usage.get("cache_creation_input_tokens") or 0)
    return {
        "input_tokens": int(usage.get("input_tokens") or 0) + read + written,
        "output_tokens": int(usage.get("output_tokens") or 0),
        "cached_tokens": read,
        "cache_write_tokens": written,
    }


def _finish(stop_reason: str | None) -> str:
    if stop_reason == "refusal":
        raise ModelError(Outcome.CONTENT_POLICY, "the model declined for policy reasons (stop_reason: refusal)")
    if stop_reason == "model_context_window_exceeded":
        raise ModelError(Outcome.CONTEXT_OVERFLOW, "the context window filled up")
    return FINISH.get(stop_reason or "end_turn", stop_reason or "stop")


class AnthropicProvider(HTTPProvider):
    provider = "anthropic"

    def auth_headers(self, spec: ModelSpec) -> dict[str, str]:
        headers = {"anthropic-version": API_VERSION}
        if spec.api_key:
            headers[spec.api_key_header or "x-api-key"] = spec.api_key
        return headers

    def url(self, stream: bool) -> str:
        return (self.spec.base_url or "https://api.anthropic.com/v1").rstrip("/") + "/messages"

    def body(self, request: ChatRequest, stream: bool) -> dict[str, Any]:
        system, messages = to_anthropic(request.messages)
        body: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "max_tokens": request.max_tokens or self.spec.max_tokens,
            "temperature": self.spec.temperature if request.temperature is None else request.temperature,
        }
        if system:
            body["system"] = system
        if request.tools:
            body["tools"] = [{"name": t.name, "description": t.description, "input_schema": t.parameters} for t in request.tools]
            if request.tool_choice == "none":
                body["tool_choice"] = {"type": "none"}
        if stream:
            body["stream"] = True
        return body

    def parse(self, payload: dict[str, Any], started: float, ttft: float) -> ChatResult:
        if payload.get("type") == "error":
            raise ModelError(Outcome.SERVER_ERROR, f"error: {str(payload.get('error'))[:200]}")
        text = "".join(b["text"] for b in payload["content"] if b["type"] == "text")
        tool_calls = tuple(
            ToolCall(b["id"], b["name"], json.dumps(b.get("input") or {})) for b in payload["content"] if b["type"] == "tool_use"
        )
        return ChatResult(
            text=text,
            model=self.name,
            latency_ms=ms_since(started),
            ttft_ms=ms_since(started, ttft),
            finish_reason=_finish(payload.get("stop_reason")),
            tool_calls=tool_calls,
            provider_model=payload.get("model"),
            **_usage(payload.get("usage") or {}),
        )

    def stream_parser(self) -> StreamParser:
        return _AnthropicStream()


class _AnthropicStream(StreamParser):
    def __init__(self) -> None:
        self.text: list[str] = []
        self.blocks: dict[int, dict[str, str]] = {}
        self.stop_reason: str | None = None
        self.usage: dict[str, Any] = {}
        self.model: str | None = None

    def feed(self, event: SSEEvent) -> str | None:
        data = json.loads(event.data)
        kind = data.get("type", event.event)
        if kind == "message_start":
            message = data["message"]
            self.model = message.get("model")
            self.usage.update(message.get("usage") or {})
        elif kind == "content_block_start":
            block = data["content_block"]
            if block["type"] == "tool_use":
                self.progress = True
                self.blocks[data["index"]] = {"id": block["id"], "name": block["name"], "arguments": ""}
        elif kind == "content_block_delta":
            delta = data["delta"]
            if delta["type"] == "text_delta":
                self.progress = True
                self.text.append(delta["text"])
                return delta["text"] or None
            if delta["type"] == "input_json_delta":
                self.blocks[data["index"]]["arguments"] += delta.get("partial_json") or ""
        elif kind == "message_delta":
            self.stop_reason = (data.get("delta") or {}).get("stop_reason") or self.stop_reason
            self.finished = self.stop_reason is not None
            # The final counts come here; input counts may be repeated, so update, not add.
            self.usage.update({k: v for k, v in (data.get("usage") or {}).items() if v is not None})
        elif kind == "message_stop":
            self.done = True
        elif kind == "error":
            error = data.get("error") or {}
            outcome = Outcome.SERVER_ERROR if error.get("type") in ("overloaded_error", "api_error") else Outcome.BAD_RESPONSE
            raise ModelError(outcome, f"error in stream: {error.get('message') or error}"[:200])
        return None

    def result(self, model: str, started: float, ttft: float | None) -> ChatResult:
        return ChatResult(
            text="".join(self.text),
            model=model,
            latency_ms=ms_since(started),
            ttft_ms=ms_since(started, ttft) if ttft else None,
            finish_reason=_finish(self.stop_reason),
            tool_calls=tuple(ToolCall(b["id"], b["name"], b["arguments"] or "{}") for _, b in sorted(self.blocks.items())),
            provider_model=self.model,
            **_usage(self.usage),
        )

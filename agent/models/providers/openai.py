"""OpenAI-compatible Chat Completions: OpenAI, Azure OpenAI, Ollama, vLLM, OpenRouter, Groq,
Together, LM Studio — anything that speaks `/chat/completions`, streamed or not."""

from __future__ import annotations

import json
from typing import Any

from agent.models.base import ChatMessage, ChatRequest, ChatResult, ModelError, Outcome, ToolCall
from agent.models.providers.http import HTTPProvider, ModelSpec, SSEEvent, StreamParser, ms_since

FINISH = {"stop": "stop", "length": "length", "tool_calls": "tool_calls", "function_call": "tool_calls", "content_filter": "content_filter"}


def to_openai_message(message: ChatMessage) -> dict[str, Any]:
    out: dict[str, Any] = {"role": message.role, "content": message.content}
    if message.tool_calls:
        out["tool_calls"] = [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}} for c in message.tool_calls
        ]
    if message.tool_call_id:
        out["tool_call_id"] = message.tool_call_id
    return out


def _usage(usage: dict[str, Any] | None) -> dict[str, int]:
    usage = usage or {}
    prompt_details = usage.get("prompt_tokens_details") or {}
    completion_details = usage.get("completion_tokens_details") or {}
    return {
        "input_tokens": int(usage.get("prompt_tokens") or 0),
        "output_tokens": int(usage.get("completion_tokens") or 0),
        "cached_tokens": int(prompt_details.get("cached_tokens") or 0),
        "reasoning_tokens": int(completion_details.get("reasoning_tokens") or 0),
    }


def _check_refusal(finish: str, text: str, tool_calls: tuple[ToolCall, ...]) -> None:
    if finish == "content_filter" and not text and not tool_calls:
        raise ModelError(Outcome.CONTENT_POLICY, "the provider's content filter withheld the answer")


class OpenAIProvider(HTTPProvider):
    provider = "openai"

    def auth_headers(self, spec: ModelSpec) -> dict[str, str]:
        if not spec.api_key:
            return {}
        if spec.api_key_header:
            return {spec.api_key_header: spec.api_key}
        return {"Authorization": f"Bearer {spec.api_key}"}

    def url(self, stream: bool) -> str:
        assert self.spec.base_url is not None
        return self.spec.base_url.rstrip("/") + "/chat/completions"

    def body(self, request: ChatRequest, stream: bool) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model,
            "messages": [to_openai_message(m) for m in request.messages],
            "max_tokens": request.max_tokens or self.spec.max_tokens,
            "temperature": self.spec.temperature if request.temperature is None else request.temperature,
        }
        if request.tools:
            body["tools"] = [
                {"type": "function", "function": {"name": t.name, "description": t.description, "parameters": t.parameters}}
                for t in request.tools
            ]
            if request.tool_choice == "none":
                body["tool_choice"] = "none"
        if stream:
            body["stream"] = True
            body["stream_options"] = {"include_usage": True}
        return body

    def parse(self, payload: dict[str, Any], started: float, ttft: float) -> ChatResult:
        choice = payload["choices"][0]
        message = choice["message"]
        text = message.get("content") or ""
        tool_calls = tuple(
            ToolCall(c["id"], c["function"]["name"], c["function"].get("arguments") or "{}") for c in message.get("tool_calls") or []
        )
        finish = FINISH.get(choice.get("finish_reason") or "stop", choice.get("finish_reason"))
        _check_refusal(finish, text, tool_calls)
        return ChatResult(
            text=text,
            model=self.name,
            latency_ms=ms_since(started),
            ttft_ms=ms_since(started, ttft),
            finish_reason=finish,
            tool_calls=tool_calls,
            provider_model=payload.get("model"),
            **_usage(payload.get("usage")),
        )

    def stream_parser(self) -> StreamParser:
        return _OpenAIStream()


class _OpenAIStream(StreamParser):
    def __init__(self) -> None:
        self.text: list[str] = []
        self.tools: dict[int, dict[str, str]] = {}
        self.finish = "stop"
        self.usage: dict[str, Any] | None = None
        self.model: str | None = None

    def feed(self, event: SSEEvent) -> str | None:
        if event.data.strip() == "[DONE]":
            self.done = True
            return None
        chunk = json.loads(event.data)
        if "error" in chunk:  # some servers report a failure midway as a data line
            raise ModelError(Outcome.SERVER_ERROR, f"error in stream: {str(chunk['error'])[:200]}")
        self.model = chunk.get("model") or self.model
        if chunk.get("usage"):
            self.usage = chunk["usage"]
        choices = chunk.get("choices") or []
        if not choices:
            return None
        choice = choices[0]
        if choice.get("finish_reason"):
            self.finish = FINISH.get(choice["finish_reason"], choice["finish_reason"])
            self.finished = True
        delta = choice.get("delta") or {}
        for call in delta.get("tool_calls") or []:
            self.progress = True
            slot = self.tools.setdefault(int(call.get("index", 0)), {"id": "", "name": "", "arguments": ""})
            slot["id"] = call.get("id") or slot["id"]
            function = call.get("function") or {}
            slot["name"] += function.get("name") or ""
            slot["arguments"] += function.get("arguments") or ""
        text = delta.get("content")
        if text:
            self.progress = True
            self.text.append(text)
        return text or None

    def result(self, model: str, started: float, ttft: float | None) -> ChatResult:
        text = "".join(self.text)
        tool_calls = tuple(ToolCall(t["id"], t["name"], t["arguments"] or "{}") for _, t in sorted(self.tools.items()))
        _check_refusal(self.finish, text, tool_calls)
        return ChatResult(
            text=text,
            model=model,
            latency_ms=ms_since(started),
            ttft_ms=ms_since(started, ttft) if ttft else None,
            finish_reason=self.finish,
            tool_calls=tool_calls,
            provider_model=self.model,
            **_usage(self.usage),
        )

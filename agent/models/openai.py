"""OpenAI-compatible Chat Completions (OpenAI, Ollama, vLLM, OpenRouter, Groq, LM Studio…)."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx

from agent.models.base import ChatRequest, ChatResult, ModelError, Outcome


def classify_status(status: int) -> Outcome:
    if status == 429:
        return Outcome.RATE_LIMITED
    if status >= 500:
        return Outcome.SERVER_ERROR
    return Outcome.CLIENT_ERROR


class OpenAICompatibleModel:
    provider = "openai"

    def __init__(
        self,
        name: str,
        model: str,
        client: httpx.AsyncClient,
        base_url: str,
        api_key: str | None = None,
        timeout_s: float = 30.0,
        max_tokens: int = 512,
        temperature: float = 0.3,
    ) -> None:
        self.name = name
        self.model = model
        self.timeout_s = timeout_s
        self._client = client
        self._url = base_url.rstrip("/") + "/chat/completions"
        self._headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._max_tokens = max_tokens
        self._temperature = temperature

    def _body(self, request: ChatRequest) -> dict[str, Any]:
        return {
            "model": self.model,
            "messages": [{"role": m.role, "content": m.content} for m in request.messages],
            "max_tokens": request.max_tokens or self._max_tokens,
            "temperature": self._temperature if request.temperature is None else request.temperature,
        }

    async def complete(self, request: ChatRequest) -> ChatResult:
        started = time.perf_counter()
        try:
            response = await self._client.post(
                self._url, json=self._body(request), headers=self._headers, timeout=self.timeout_s
            )
        except httpx.TimeoutException as exc:
            raise ModelError(Outcome.TIMEOUT, f"{type(exc).__name__}") from exc
        except httpx.TransportError as exc:
            raise ModelError(Outcome.CONNECTION_ERROR, f"{type(exc).__name__}: {exc}") from exc
        if response.status_code != 200:
            raise ModelError(classify_status(response.status_code), f"HTTP {response.status_code}: {response.text[:200]}")
        try:
            payload = response.json()
            choice = payload["choices"][0]
            text = choice["message"]["content"] or ""
            usage = payload.get("usage") or {}
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise ModelError(Outcome.BAD_RESPONSE, f"unexpected response: {response.text[:200]}") from exc
        return ChatResult(
            text=text,
            model=self.name,
            input_tokens=int(usage.get("prompt_tokens") or 0),
            output_tokens=int(usage.get("completion_tokens") or 0),
            latency_ms=(time.perf_counter() - started) * 1000,
            finish_reason=choice.get("finish_reason") or "stop",
        )

    async def stream(self, request: ChatRequest) -> AsyncIterator[str]:
        body = self._body(request) | {"stream": True}
        async with self._client.stream("POST", self._url, json=body, headers=self._headers, timeout=self.timeout_s) as response:
            if response.status_code != 200:
                raise ModelError(classify_status(response.status_code), f"HTTP {response.status_code}")
            async for line in response.aiter_lines():
                if not line.startswith("data:"):
                    continue
                data = line[5:].strip()
                if data == "[DONE]":
                    return
                try:
                    delta = json.loads(data)["choices"][0]["delta"].get("content")
                except (ValueError, KeyError, IndexError) as exc:
                    raise ModelError(Outcome.BAD_RESPONSE, f"bad stream chunk: {data[:100]}") from exc
                if delta:
                    yield delta

"""What every HTTP provider shares: timeouts, error classes, the SSE reader, the call loop.

A provider subclass says only how its wire format looks (URL, headers, body, how to read an
answer and a stream); sending, timing and classifying failures happen here, once.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import re
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from agent.models.base import ChatRequest, ChatResult, ModelError, Outcome, StreamEvent, TextDelta


@dataclass(frozen=True, slots=True)
class Timeouts:
    connect_s: float = 5.0
    first_token_s: float | None = None  # None: only the total applies
    total_s: float = 30.0

    def first(self) -> float:
        return min(self.first_token_s or self.total_s, self.total_s)


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """One configured model (or one deployment of it), as a provider needs it."""

    name: str
    provider: str
    model: str
    base_url: str | None = None
    api_key: str | None = None
    timeouts: Timeouts = Timeouts()
    max_tokens: int = 512
    temperature: float = 0.3
    headers: Mapping[str, str] = field(default_factory=dict)
    query: Mapping[str, str] = field(default_factory=dict)
    api_key_header: str | None = None  # e.g. "api-key" for Azure OpenAI instead of a bearer token


_CONTEXT_MARKERS = (
    "context_length_exceeded", "maximum context length", "context window", "prompt is too long",
    "too many tokens", "input is too long", "exceeds the maximum number of tokens", "input token count",
    "reduce the length",
)  # fmt: skip
_POLICY_MARKERS = (
    "content_policy", "content_filter", "content management policy", "responsible ai", "safety",
    "prohibited_content", "violates our usage policies",
)  # fmt: skip
_RETRY_DELAY = re.compile(r'"retryDelay"\s*:\s*"([\d.]+)s"')


def retry_after(headers: Mapping[str, str], body: str = "") -> float | None:
    """Seconds to wait as the provider put it: Retry-After (seconds or a date), -ms, or Gemini's retryDelay."""
    if millis := headers.get("retry-after-ms"):
        try:
            return max(0.0, float(millis) / 1000)
        except ValueError:
            pass
    if value := headers.get("retry-after"):
        try:
            return max(0.0, float(value))
        except ValueError:
            when = email.utils.parsedate_to_datetime(value) if value else None
            if when is not None:
                return max(0.0, when.timestamp() - time.time())
    if match := _RETRY_DELAY.search(body):
        return float(match.group(1))
    return None


def error_from_response(status: int, body: bytes, headers: Mapping[str, str]) -> ModelError:
    """An HTTP error status, classified by status and by what the provider's error body says."""
    text = body[:4000].decode(errors="replace")
    message = f"HTTP {status}: {_error_message(text)}"
    lowered = text.lower()
    if status == 429:
        return ModelError(Outcome.RATE_LIMITED, message, retry_after(headers, text))
    if status in (400, 413, 422) and any(marker in lowered for marker in _CONTEXT_MARKERS):
        return ModelError(Outcome.CONTEXT_OVERFLOW, message)
    if status in (400, 403, 451) and any(marker in lowered for marker in _POLICY_MARKERS):
        return ModelError(Outcome.CONTENT_POLICY, message)
    if status >= 500:  # 529 is Anthropic's "overloaded"
        return ModelError(Outcome.SERVER_ERROR, message, retry_after(headers, text))
    return ModelError(Outcome.CLIENT_ERROR, message)


def _error_message(text: str) -> str:
    try:
        error = json.loads(text).get("error")
    except (ValueError, AttributeError):
        return text[:200]
    if isinstance(error, dict):
        return str(error.get("message") or error)[:200]
    return str(error or text)[:200]


def error_from_transport(exc: httpx.TransportError) -> ModelError:
    if isinstance(exc, httpx.TimeoutException):
        return ModelError(Outcome.TIMEOUT, type(exc).__name__)
    return ModelError(Outcome.CONNECTION_ERROR, f"{type(exc).__name__}: {exc}")


def parse_json(raw: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(raw)
    except ValueError as exc:
        raise ModelError(Outcome.BAD_RESPONSE, f"not JSON: {raw[:200]!r}") from exc
    if not isinstance(payload, dict):
        raise ModelError(Outcome.BAD_RESPONSE, f"not a JSON object: {raw[:200]!r}")
    return payload


@dataclass(slots=True)
class SSEEvent:
    event: str
    data: str


async def sse_events(lines: AsyncIterator[str]) -> AsyncIterator[SSEEvent]:
    """Server-sent events from a line stream (the fields we use: event and data)."""
    event, data = "message", []
    async for line in lines:
        if not line:
            if data:
                yield SSEEvent(event, "\n".join(data))
            event, data = "message", []
        elif line.startswith("data:"):
            data.append(line[5:].removeprefix(" "))
        elif line.startswith("event:"):
            event = line[6:].strip()
    if data:
        yield SSEEvent(event, "\n".join(data))


class StreamParser:
    """Reads one provider's stream events into deltas and, at the end, the whole result."""

    done: bool = False
    progress: bool = False  # any content yet (text or a tool call): the first token has come
    finished: bool = False  # a finish reason has come (the end marker may still follow)

    def feed(self, event: SSEEvent) -> str | None:
        raise NotImplementedError

    def result(self, model: str, started: float, ttft: float | None) -> ChatResult:
        raise NotImplementedError


class HTTPProvider:
    """The call loop shared by providers; subclasses describe their wire format."""

    provider = "http"

    def __init__(self, spec: ModelSpec, client: httpx.AsyncClient) -> None:
        self.spec = spec
        self.name = spec.name
        self.model = spec.model
        self.timeouts = spec.timeouts
        self.timeout_s = spec.timeouts.total_s
        self._client = client
        self._httpx_timeout = httpx.Timeout(spec.timeouts.total_s, connect=spec.timeouts.connect_s)
        self._headers = {**self.auth_headers(spec), **spec.headers}

    # -- the wire format, per provider ---------------------------------------------------

    def auth_headers(self, spec: ModelSpec) -> dict[str, str]:
        raise NotImplementedError

    def url(self, stream: bool) -> str:
        raise NotImplementedError

    def body(self, request: ChatRequest, stream: bool) -> dict[str, Any]:
        raise NotImplementedError

    def parse(self, payload: dict[str, Any], started: float, ttft: float) -> ChatResult:
        raise NotImplementedError

    def stream_parser(self) -> StreamParser:
        raise NotImplementedError

    # -- calls ---------------------------------------------------------------------------

    def _request(self, request: ChatRequest, stream: bool) -> httpx.Request:
        return self._client.build_request(
            "POST", self.url(stream), json=self.body(request, stream), headers=self._headers,
            params=self.spec.query or None, timeout=self._httpx_timeout,
        )  # fmt: skip

    async def complete(self, request: ChatRequest) -> ChatResult:
        started = time.perf_counter()
        loop = asyncio.get_running_loop()
        total_at = loop.time() + self.timeouts.total_s
        response = await self._open(self._request(request, stream=False), loop.time() + self.timeouts.first())
        ttft = time.perf_counter()
        try:
            async with asyncio.timeout_at(total_at):
                raw = await response.aread()
        except TimeoutError:
            raise ModelError(Outcome.TIMEOUT, f"no complete answer in {self.timeouts.total_s}s") from None
        except httpx.TransportError as exc:
            raise error_from_transport(exc) from exc
        finally:
            await response.aclose()
        if response.status_code != 200:
            raise error_from_response(response.status_code, raw, response.headers)
        try:
            return self.parse(parse_json(raw), started, ttft)
        except (KeyError, IndexError, TypeError, AttributeError, ValueError) as exc:
            raise ModelError(Outcome.BAD_RESPONSE, f"unexpected answer shape: {raw[:200]!r}") from exc

    async def stream(self, request: ChatRequest) -> AsyncIterator[StreamEvent]:
        started = time.perf_counter()
        loop = asyncio.get_running_loop()
        total_at = loop.time() + self.timeouts.total_s
        first_at = loop.time() + self.timeouts.first()
        response = await self._open(self._request(request, stream=True), first_at)
        try:
            if response.status_code != 200:
                raw = await _read_within(response.aread(), total_at, self.timeouts.total_s)
                raise error_from_response(response.status_code, raw, response.headers)
            parser = self.stream_parser()
            events = sse_events(response.aiter_lines())
            ttft: float | None = None
            while not parser.done:
                deadline, limit = (first_at, self.timeouts.first()) if ttft is None else (total_at, self.timeouts.total_s)
                event = await _read_within(anext(events, None), deadline, limit, first=ttft is None)
                if event is None:
                    if parser.finished:
                        break  # a server that says why it stopped but sends no end marker
                    raise ModelError(Outcome.BAD_RESPONSE, "the stream ended before its end marker")
                try:
                    text = parser.feed(event)
                except (KeyError, IndexError, TypeError, AttributeError, ValueError) as exc:
                    raise ModelError(Outcome.BAD_RESPONSE, f"bad stream event: {event.data[:200]!r}") from exc
                if ttft is None and (text or parser.progress):
                    ttft = time.perf_counter()
                if text:
                    yield TextDelta(text)
            yield parser.result(self.name, started, ttft)
        except httpx.TransportError as exc:
            raise error_from_transport(exc) from exc
        finally:
            await response.aclose()

    async def _open(self, request: httpx.Request, first_at: float) -> httpx.Response:
        """Send and wait for the response head: the first-token deadline covers this wait."""
        try:
            async with asyncio.timeout_at(first_at):
                return await self._client.send(request, stream=True)
        except TimeoutError:
            raise ModelError(Outcome.TIMEOUT, f"no first token in {self.timeouts.first()}s") from None
        except httpx.TransportError as exc:
            raise error_from_transport(exc) from exc


async def _read_within(awaitable: Any, deadline: float, limit: float, first: bool = False) -> Any:
    try:
        async with asyncio.timeout_at(deadline):
            return await awaitable
    except TimeoutError:
        what = "no first token" if first else "no complete answer"
        raise ModelError(Outcome.TIMEOUT, f"{what} in {limit}s") from None


def ms_since(started: float, now: float | None = None) -> float:
    return ((now if now is not None else time.perf_counter()) - started) * 1000

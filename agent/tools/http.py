"""An `http` tool: a REST endpoint of the business, its path, query or JSON body filled from the
arguments, its JSON answer cut to the fields a model sees. Every failure is a `ToolReply` the
model reads, never an exception."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from agent.contracts import ToolOutcome
from agent.tools.base import ToolContext, ToolReply
from agent.tools.shaping import only_fields, within

PLACEHOLDER = re.compile(r"(?<!\$)\{([A-Za-z_][A-Za-z0-9_]*)\}")
LATE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
MAX_RESPONSE_BYTES = 1_000_000
WITH_BODY = {"POST", "PUT", "PATCH"}
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")  # what a header value cannot hold (a tab it can)


class HttpTool:
    def __init__(
        self,
        client: httpx.AsyncClient,
        method: str,
        url: str,
        headers: Mapping[str, str] | None = None,
        returns: Sequence[str] | None = None,
        max_response_chars: int = 4000,
        timeout_s: float = 3.0,
        provided: Mapping[str, str] | None = None,
    ) -> None:
        self._client = client
        self._method = method
        self._url = url
        self._headers = dict(headers or {})
        self._returns = tuple(returns) if returns else None
        self._max_chars = max_response_chars
        self._timeout_s = timeout_s
        self._in_url = set(PLACEHOLDER.findall(url))
        # What the process provides once serving (the demo store's URL), filled in at each call.
        self._provided = provided if provided is not None else {}

    async def run(self, arguments: dict[str, Any], context: ToolContext) -> ToolReply:
        values = {**arguments, "customer": context.customer or ""}
        base = self._base_url()
        if "${" in base:
            return ToolReply.failed(ToolOutcome.ERROR, "the tool's address is not configured yet", retryable=True)
        url = PLACEHOLDER.sub(lambda m: quote(str(values.get(m.group(1), "")), safe=""), base)
        dots = _dot_segments(base, url)
        if dots:
            return ToolReply.failed(ToolOutcome.INVALID_ARGUMENTS, f"{', '.join(dots)}: not a valid value", retryable=True)
        headers = {k: PLACEHOLDER.sub(lambda m: str(values.get(m.group(1), "")), v) for k, v in self._headers.items()}
        broken = [name for k, v in headers.items() if _CONTROL.search(v) for name in PLACEHOLDER.findall(self._headers[k])]
        if broken:
            # A line break in a header would be a header of the model's own making.
            error = f"{', '.join(dict.fromkeys(broken))}: a header cannot hold line breaks or control characters"
            return ToolReply.failed(ToolOutcome.INVALID_ARGUMENTS, error, retryable=True)
        rest = {k: v for k, v in arguments.items() if k not in self._in_url}
        # A customer "josé@…" is sent as UTF-8: httpx takes only ASCII text in a header.
        sent = {k: v if v.isascii() else v.encode() for k, v in headers.items()}
        request: dict[str, Any] = {"headers": {"Accept": "application/json", **sent}}
        if self._method in WITH_BODY:
            request["json"] = rest
        elif rest:
            request["params"] = {k: v if isinstance(v, str) else json.dumps(v) for k, v in rest.items()}
        try:
            async with self._client.stream(self._method, url, timeout=self._timeout_s, **request) as response:
                body = await _read_capped(response)
        except httpx.TimeoutException:
            return ToolReply.failed(ToolOutcome.TIMEOUT, f"no answer within {self._timeout_s:g} s", retryable=True)
        except _TooLarge:
            return ToolReply.failed(ToolOutcome.BAD_RESPONSE, "the answer was too large", response_bytes=MAX_RESPONSE_BYTES)
        except httpx.HTTPError as error:
            return ToolReply.failed(ToolOutcome.ERROR, f"could not reach the system ({type(error).__name__})", retryable=True)
        size = len(body)
        try:
            data = json.loads(body) if body else None
        except (ValueError, RecursionError):
            data = _NOT_JSON
        if response.status_code >= 400:
            retryable = response.status_code >= 500 or response.status_code == 429
            return ToolReply.failed(ToolOutcome.ERROR, _error_text(response.status_code, data), retryable, size)
        if response.status_code >= 300:
            # Redirects are not followed: a change redirected elsewhere was not made.
            error = _error_text(response.status_code, data)
            return ToolReply.failed(ToolOutcome.ERROR, error, retryable=False, response_bytes=size)
        if data is _NOT_JSON:
            return ToolReply.failed(
                ToolOutcome.BAD_RESPONSE, "the system's answer was not JSON", retryable=False, response_bytes=size
            )
        return ToolReply(within(only_fields(data, self._returns), self._max_chars), response_bytes=size)

    def _base_url(self) -> str:
        if "${" not in self._url:
            return self._url
        return LATE.sub(lambda m: self._provided.get(m.group(1), m.group()), self._url)


def _dot_segments(template: str, url: str) -> list[str]:
    """The arguments that made a "." or ".." path segment: encoding leaves them as they are, and
    the client resolves them, so /orders/{id}/cancel would become /cancel. ("../admin" is one
    encoded segment: the "/" is encoded, so both paths have as many segments.)"""
    found: list[str] = []
    for made, declared in zip(urlsplit(url).path.split("/"), urlsplit(template).path.split("/"), strict=False):
        if made in (".", "..") and made != declared:
            found += [name for name in PLACEHOLDER.findall(declared) if name not in found]
    return found


class _TooLarge(Exception):
    pass


_NOT_JSON = object()


async def _read_capped(response: httpx.Response) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > MAX_RESPONSE_BYTES:
            raise _TooLarge()
        chunks.append(chunk)
    return b"".join(chunks)


def _error_text(status: int, data: Any) -> str:
    """The system's own words for an error when it gave any (`error`, `message`, `detail`)."""
    if isinstance(data, dict):
        for key in ("error", "message", "detail"):
            value = data.get(key)
            if isinstance(value, str) and value.strip():
                return f"{status}: {value.strip()[:300]}"
    return f"{status}: {httpx.codes.get_reason_phrase(status) or 'error'}"

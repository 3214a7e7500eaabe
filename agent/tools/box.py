"""The tools of a deployment, with the guard rails every call passes through.

In order: the route's allow-list, the arguments against the schema, a verified customer for
private data, the customer's own words for a change, then confirmation (the change is not run:
the customer is asked), and only then the call, under its timeout. Whatever happens is a
`ToolExecution`: the model reads its `content`, the turn stores its `record`.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import structlog

from agent.contracts import PendingAction, ToolCallRecord, ToolOutcome
from agent.models import Tool, ToolCall
from agent.tools.arguments import ArgumentCheck, InvalidArguments
from agent.tools.base import ToolContext, ToolReply, ToolRunner
from agent.tools.confirm import question
from agent.tools.metrics import ToolMetrics
from agent.tools.spec import ToolSpec

log = structlog.get_logger(__name__)

REDACTED = "[redacted]"
MAX_NAME = 64  # a tool's name as stored; a model may make up a longer one
NEEDS_VERIFICATION = "the customer is not verified yet: ask them for the proof verify_customer takes, call it, then try again"


@dataclass(frozen=True, slots=True)
class ToolExecution:
    call_id: str
    name: str
    arguments: str  # JSON, as the model (or the confirmed action) gave them
    content: str  # JSON, as the model reads it
    record: ToolCallRecord


class ToolBox:
    def __init__(self, tools: Mapping[str, tuple[ToolSpec, ToolRunner]], secrets: Sequence[str] = ()) -> None:
        self._tools = dict(tools)
        self._checks = {name: ArgumentCheck(spec.parameters, spec.redact) for name, (spec, _) in self._tools.items()}
        # Values of the environment variables the tools use: never stored, whatever argument holds them.
        self._secrets = tuple(s for s in secrets if len(s) >= 4)
        self.metrics = ToolMetrics()

    @property
    def names(self) -> frozenset[str]:
        return frozenset(self._tools)

    def spec(self, name: str) -> ToolSpec | None:
        entry = self._tools.get(name)
        return entry[0] if entry else None

    def definitions(self, allowed: frozenset[str]) -> tuple[Tool, ...]:
        """What the models are told of the tools a route allows."""
        return tuple(spec.as_model_tool() for name, (spec, _) in self._tools.items() if name in allowed)

    async def execute_all(self, calls: Sequence[ToolCall], context: ToolContext, step: int) -> list[ToolExecution]:
        """Every call a model asked for at once, concurrently; a change asked for beside others waits its turn.

        Changes come after the rest (a verification beside them counts) and one at a time, so
        the first is asked about and any other is refused, never two questions racing for one answer.
        """
        changes = [i for i, call in enumerate(calls) if self._asks_first(call.name)]
        rest = [i for i in range(len(calls)) if i not in changes]
        done = dict(zip(rest, await asyncio.gather(*(self.execute(calls[i], context, step) for i in rest)), strict=True))
        for i in changes:
            done[i] = await self.execute(calls[i], context, step)
        return [done[i] for i in range(len(calls))]

    async def execute(self, call: ToolCall, context: ToolContext, step: int) -> ToolExecution:
        started = time.perf_counter()
        entry = self._tools.get(call.name)
        if entry is None or call.name not in context.allowed:
            return self._done(call, {}, ToolReply.failed(ToolOutcome.NOT_ALLOWED, f"no tool {call.name!r} here"), started, step)
        spec, runner = entry
        try:
            arguments = self._checks[call.name].parse(call.arguments)
        except InvalidArguments as error:
            return self._done(
                call, {}, ToolReply.failed(ToolOutcome.INVALID_ARGUMENTS, str(error), retryable=True), started, step
            )
        if spec.requires_verified_customer and not context.customer:
            return self._done(
                call, arguments, ToolReply.failed(ToolOutcome.NEEDS_VERIFICATION, NEEDS_VERIFICATION), started, step
            )
        if spec.confirm:
            return await self._ask_first(call, spec, arguments, context, started, step)
        reply = await self._run(spec, runner, arguments, context)
        return self._done(call, arguments, reply, started, step)

    async def run_confirmed(self, action: PendingAction, context: ToolContext) -> ToolExecution:
        """The action the customer said yes to, with the arguments they were asked about."""
        started = time.perf_counter()
        call = ToolCall("confirmed-" + action.tool, action.tool, json.dumps(dict(action.arguments)))
        entry = self._tools.get(action.tool)
        if entry is None or action.tool not in context.allowed:
            # Stored with the conversation: the route may no longer allow it since it was asked.
            reply = ToolReply.failed(ToolOutcome.NOT_ALLOWED, f"no tool {action.tool!r} here")
            return self._done(call, action.arguments, reply, started, 0, "confirmed")
        spec, runner = entry
        try:
            self._checks[action.tool].parse(call.arguments)
        except InvalidArguments as error:
            reply = ToolReply.failed(ToolOutcome.INVALID_ARGUMENTS, str(error))
            return self._done(call, action.arguments, reply, started, 0, "confirmed")
        if spec.requires_verified_customer and not context.customer:
            reply = ToolReply.failed(ToolOutcome.NEEDS_VERIFICATION, NEEDS_VERIFICATION)
        else:
            reply = await self._run(spec, runner, dict(action.arguments), context)
        return self._done(call, action.arguments, reply, started, 0, "confirmed")

    def declined(self, action: PendingAction) -> ToolCallRecord:
        return ToolCallRecord(
            action.tool, self._redact(action.tool, action.arguments), ToolOutcome.DECLINED, 0.0, 0, confirmation="declined"
        )

    async def _ask_first(
        self, call: ToolCall, spec: ToolSpec, arguments: dict[str, Any], context: ToolContext, started: float, step: int
    ) -> ToolExecution:
        """A change is asked about, not run: the customer's next message decides."""
        said = _words(context.customer_words)
        unsaid = [k for k, v in arguments.items() if not all(_in_words(value, said) for value in _scalars(v))]
        if unsaid:
            # Text in a document or a tool result cannot start a change: its arguments are the customer's own.
            error = f"the customer has not asked for this ({', '.join(unsaid)} not in their words)"
            return self._done(call, arguments, ToolReply.failed(ToolOutcome.NOT_ALLOWED, error), started, step)
        if context.pending is not None:
            error = "another change is already waiting for the customer's answer"
            return self._done(call, arguments, ToolReply.failed(ToolOutcome.NOT_ALLOWED, error), started, step)
        values: dict[str, Any] = dict(arguments)
        if spec.preview:
            preview = self._tools.get(spec.preview)
            if preview is not None and preview[0].requires_verified_customer and not context.customer:
                reply = ToolReply.failed(ToolOutcome.NEEDS_VERIFICATION, NEEDS_VERIFICATION)
                return self._done(call, arguments, reply, started, step)
            if preview is not None:
                shown = await self._run(preview[0], preview[1], arguments, context)
                if shown.outcome is not ToolOutcome.OK:
                    return self._done(call, arguments, shown, started, step)
                if isinstance(shown.data, dict):
                    values = {**shown.data, **arguments}
                refused = _not_allowed_now(spec, values)
                if refused:
                    return self._done(call, arguments, ToolReply.failed(ToolOutcome.NOT_ALLOWED, refused), started, step)
        asked = question(spec.confirm_text, spec.description, values)
        context.pending = PendingAction(spec.name, arguments, asked, context.route)
        reply = ToolReply({"status": "waiting for the customer's yes", "question": asked}, ToolOutcome.NEEDS_CONFIRMATION)
        return self._done(call, arguments, reply, started, step, "asked")

    async def _run(self, spec: ToolSpec, runner: ToolRunner, arguments: dict[str, Any], context: ToolContext) -> ToolReply:
        try:
            async with asyncio.timeout(spec.timeout_s):
                return await runner.run(arguments, context)
        except TimeoutError:
            return ToolReply.failed(ToolOutcome.TIMEOUT, f"no answer within {spec.timeout_s:g} s", retryable=True)
        except Exception as error:  # a tool's bug is the model's data, never the turn's end
            log.warning("tool_raised", tool=spec.name, exc_info=True)
            return ToolReply.failed(ToolOutcome.ERROR, f"the tool failed ({type(error).__name__})", retryable=False)

    def _done(
        self,
        call: ToolCall,
        arguments: Mapping[str, Any],
        reply: ToolReply,
        started: float,
        step: int,
        confirmation: str | None = None,
    ) -> ToolExecution:
        latency = (time.perf_counter() - started) * 1000
        if reply.error:
            reply = replace(reply, error=self._scrub(reply.error))
        content = json.dumps(reply.for_model(), ensure_ascii=False, default=str)
        record = ToolCallRecord(
            tool=call.name[:MAX_NAME],
            arguments=self._redact(call.name, arguments),
            outcome=reply.outcome,
            latency_ms=latency,
            step=step,
            response_bytes=reply.response_bytes,
            error=reply.error,
            confirmation=confirmation,
        )
        self.metrics.record(record)
        log.info(
            "tool_call",
            tool=record.tool,
            outcome=reply.outcome.value,
            latency_ms=round(latency, 2),
            step=step,
            error=reply.error,
        )
        return ToolExecution(call.id, call.name, call.arguments, content, record)

    def _asks_first(self, name: str) -> bool:
        spec = self.spec(name)
        return spec is not None and spec.confirm

    def _redact(self, name: str, arguments: Mapping[str, Any]) -> dict[str, Any]:
        spec = self.spec(name)
        hidden = spec.redact if spec else frozenset()
        return {key: REDACTED if key in hidden else self._without_secrets(value) for key, value in arguments.items()}

    def _without_secrets(self, value: Any) -> Any:
        """`value` with every text holding a secret redacted, at any depth."""
        if isinstance(value, str):
            return REDACTED if any(secret in value for secret in self._secrets) else value
        if isinstance(value, Mapping):
            return {key: self._without_secrets(item) for key, item in value.items()}
        if isinstance(value, (list, tuple)):
            return [self._without_secrets(item) for item in value]
        return value

    def _scrub(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        return text


def _words(text: str) -> list[str]:
    """Lower case runs of letters and digits: "Cancel NW-10497!" is cancel, nw, 10497."""
    return "".join(c if c.isalnum() else " " for c in text.lower()).split()


def _in_words(value: str, words: Sequence[str]) -> bool:
    """Whether `value`, letters and digits only, is some run of whole words the customer wrote:
    "NW-10497" is in "nw10497 please" and in "NW 10497", but "1049" is not in "10497"."""
    target = "".join(_words(value))
    if not target:
        return True
    for start in range(len(words)):
        joined = ""
        for word in words[start:]:
            joined += word
            if joined == target:
                return True
            if not target.startswith(joined):
                break
    return False


def _scalars(value: Any) -> Iterator[str]:
    """The texts and whole numbers in an argument, at any depth: each must come from the customer.
    Flags and amounts (booleans, fractions) are the tool's choices, not things to name."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, int) and not isinstance(value, bool):
        yield str(value)
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _scalars(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _scalars(item)


def _not_allowed_now(spec: ToolSpec, values: Mapping[str, Any]) -> str | None:
    """Why the change cannot be offered, from its preview's fields (a shipped order is not cancelled)."""
    for field, allowed in spec.confirm_only_if:
        value = values.get(field)
        if str(value) not in allowed:
            return f"not possible while {field} is {value!r} (only when {' or '.join(sorted(allowed))})"
    return None

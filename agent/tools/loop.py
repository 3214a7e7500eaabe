"""The answer stage's tool loop: the model asks for tools, they run, their results go back as
tool messages, and the model answers; at most `max_steps` rounds, all inside the turn's deadline.

The loop runs the route's strategy each round, so a model failing in the second round is
followed by the next model on the chain with the tool results already obtained. A change that
needs the customer's yes, or a handover to a person, ends the loop there: the turn says so.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field, replace

from agent.contracts import ToolCallRecord, ToolOutcome
from agent.models import ChainResult, ChatMessage, ChatRequest, RouteStrategy
from agent.models.chain import OnReset
from agent.models.managed import Attempt, OnDelta
from agent.tools.base import ToolContext
from agent.tools.box import MAX_NAME, ToolBox

LAST_STEP = (
    "You have used every tool call this turn allows. Answer now from what the tools returned, "
    "or say plainly that you could not find out and offer a person."
)


@dataclass(frozen=True, slots=True)
class Streaming:
    on_delta: OnDelta
    on_reset: OnReset


@dataclass(frozen=True, slots=True)
class ToolLoopResult:
    chain: ChainResult  # the final answer (None: no model answered), with every round's attempts
    calls: list[ToolCallRecord] = field(default_factory=list)
    stopped: str | None = None  # "confirmation" (a change awaits a yes) | "escalation"
    messages: list[ChatMessage] = field(default_factory=list)  # the conversation with the tool rounds


async def answer_with_tools(
    strategy: RouteStrategy,
    request: ChatRequest,
    box: ToolBox,
    context: ToolContext,
    max_steps: int,
    deadline_s: float,
    streaming: Streaming | None = None,
) -> ToolLoopResult:
    loop = asyncio.get_running_loop()
    end = loop.time() + deadline_s
    tools = box.definitions(context.allowed)
    messages = list(request.messages)
    attempts: list[Attempt] = []
    calls: list[ToolCallRecord] = []
    step = 0
    while True:
        last = step >= max_steps
        # The last round still describes the tools (a provider refuses tool calls in a
        # conversation without their definitions) but allows none.
        asked = replace(
            request,
            messages=messages + [ChatMessage("system", LAST_STEP)] if last and step else messages,
            tools=tools,
            tool_choice="none" if last else "auto",
        )
        remaining = end - loop.time()
        if remaining <= 0:
            return ToolLoopResult(ChainResult(None, attempts), calls, None, messages)
        if streaming is None:
            outcome = await strategy.run(asked, deadline_s=remaining)
        else:
            outcome = await strategy.run_stream(asked, streaming.on_delta, streaming.on_reset, deadline_s=remaining)
        attempts += outcome.attempts
        result = outcome.result
        if result is None or not result.tool_calls:
            return ToolLoopResult(ChainResult(result, attempts, outcome.abandoned_stream), calls, None, messages)
        if last:
            # Asked for more with none allowed: what it wrote, if anything, and no more rounds.
            for call in result.tool_calls:
                calls.append(ToolCallRecord(call.name[:MAX_NAME], {}, ToolOutcome.STEP_LIMIT, 0.0, step + 1))
            final = replace(result, tool_calls=()) if result.text.strip() else None
            return ToolLoopResult(ChainResult(final, attempts), calls, None, messages)
        step += 1
        if streaming is not None and result.text:
            await streaming.on_reset()  # "let me check…" before a tool call is not the answer
        done = await box.execute_all(result.tool_calls, context, step)
        calls += [execution.record for execution in done]
        messages = messages + [ChatMessage("assistant", result.text, tool_calls=result.tool_calls)]
        messages += [
            ChatMessage("tool", execution.content, tool_call_id=execution.call_id, name=execution.name) for execution in done
        ]
        if context.pending is not None:
            return ToolLoopResult(ChainResult(result, attempts), calls, "confirmation", messages)
        if context.escalation is not None:
            return ToolLoopResult(ChainResult(result, attempts), calls, "escalation", messages)

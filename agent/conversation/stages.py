"""The stages of a turn, each a small function over one `TurnContext`.

A stage reads what earlier stages set and sets its own part; one that returns a `Reply` ends
the turn there (a person has the conversation, or the turn already ran). `TURN` is the order a
customer message's turn runs in; `MISSED` is the turn of a message found unanswered too late.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace

import structlog

from agent.contracts import (
    ESCALATE_METADATA,
    ConversationState,
    MessageView,
    Reply,
    Role,
)
from agent.consent import is_yes
from agent.conversation.actions import settle_pending, tool_context
from agent.conversation.context import TurnContext
from agent.conversation.parts import TurnParts, TurnReport
from agent.conversation.references import TOOL_RULES, StreamedCitations, cited, reference_block
from agent.escalation import EscalationDecision
from agent.models import ChainResult, ChatMessage, ChatRequest, RouteStrategy
from agent.routing import UNKNOWN, Intent
from agent.store.records import TurnRecord
from agent.store.views import TurnView
from agent.tools import answer_with_tools
from agent.tools.loop import Streaming
from personas import StreamedAnswer, fit_to_channel

log = structlog.get_logger(__name__)

Stage = Callable[[TurnContext, TurnParts], Awaitable[Reply | None]]

DEADLINE_GRACE_S = 0.5
MODEL_ROLES = {Role.CUSTOMER: "user", Role.BOT: "assistant", Role.STAFF: "assistant"}
WITH_STAFF = (ConversationState.WAITING, ConversationState.WITH_HUMAN)


async def run(stages: Sequence[Stage], turn: TurnContext, parts: TurnParts) -> Reply:
    for stage in stages:
        reply = await stage(turn, parts)
        if reply is not None:
            return reply
    raise AssertionError("a turn's last stage answers")


# -- load -------------------------------------------------------------------------------


async def load(turn: TurnContext, parts: TurnParts) -> Reply | None:
    """The conversation up to this message, never later ones; a turn that already ran is replayed."""
    context = await parts.store.context(turn.conversation_id, turn.message.id, parts.settings.history_messages)
    turn.conversation, turn.recent = context.conversation, context.recent
    if context.done is not None:
        log.info("duplicate_message", channel_message_id=turn.inbound.provider_message_id)
        return await replay(parts, turn.conversation_id, turn.message, *context.done)
    return None


async def replay(parts: TurnParts, conversation_id: str, message: MessageView, done: TurnView, reply: MessageView | None) -> Reply:
    """The answer a duplicate delivery already got, without running the turn again."""
    conversation = await parts.store.get_conversation(conversation_id)
    return Reply(
        conversation_id=conversation_id,
        inbound=message,
        text=reply.text if reply else None,
        message=reply,
        route=done.route if done.outcome != "relayed" else None,
        model=done.model,
        escalated=done.outcome in ("escalated", "relayed"),
        state=conversation.state if conversation else ConversationState.BOT,
        duplicate=True,
        sources=done.sources,
    )


# -- relay to staff ---------------------------------------------------------------------


async def relay_to_staff(turn: TurnContext, parts: TurnParts) -> Reply | None:
    """A person has (or is about to have) this conversation: the bot stays quiet.

    While waiting, the customer hears once that their messages are passed on, not after every
    message; once a person holds the conversation, that person answers.
    """
    conversation = turn.conversation
    assert conversation is not None
    if conversation.state not in WITH_STAFF:
        return None
    already_told = conversation.state is ConversationState.WITH_HUMAN or told_since_handover(turn.earlier)
    record = TurnRecord(
        conversation_id=conversation.id,
        inbound_message_id=turn.message.id,
        outcome="relayed",
        latency_ms=turn.elapsed_ms(),
        reply_text=None if already_told else parts.persona.waiting,
        reply_role=Role.SYSTEM,
    )
    stored, reply = await parts.store.finish_turn(record)
    parts.observer.turn_done(TurnReport(turn.inbound.channel, stored.outcome, stored.latency_ms / 1000))
    log.info("relayed_to_staff", state=conversation.state.value)
    await parts.publish_staff("message", conversation.id, {"message": turn.message})
    if reply is not None:
        await parts.publish(conversation.id, "message", {"message": reply})
    return Reply(conversation.id, turn.message, reply.text if reply else None, reply, None, None, True, conversation.state)


def told_since_handover(earlier: list[MessageView]) -> bool:
    """Whether a notice went out since the bot (or a person) last spoke.

    A window of nothing but customer messages means the customer wrote on and on while waiting:
    the first of them was told, further back than the window reaches.
    """
    for message in reversed(earlier):
        if message.role is Role.SYSTEM:
            return True
        if message.role is not Role.CUSTOMER:
            return False
    return bool(earlier)


# -- a change waiting for the customer's yes -----------------------------------------------


async def settle(turn: TurnContext, parts: TurnParts) -> Reply | None:
    """An explicit yes runs the change the customer was asked about; anything else drops it."""
    await settle_pending(turn, parts)
    return None


# -- route ------------------------------------------------------------------------------


async def route(turn: TurnContext, parts: TurnParts) -> Reply | None:
    """Rules → classifier → context → the model tier, for what the classifier could not place."""
    assert turn.conversation is not None
    if turn.intent is not None:
        return None  # the customer answered a confirmation: its route is the action's
    intent = parts.router.classify(turn.message.text, turn.conversation.route)
    if intent.name == UNKNOWN and parts.model_tier is not None:
        intent = await _ask_model_tier(parts, turn.message.text, intent)
    log.debug("routed", route=intent.route, intent=intent.name, tier=intent.tier, confidence=intent.confidence)
    turn.intent = intent
    turn.unknown_streak = turn.conversation.unknown_streak + 1 if intent.name == UNKNOWN else 0
    return None


async def _ask_model_tier(parts: TurnParts, text: str, unplaced: Intent) -> Intent:
    assert parts.model_tier is not None
    started = time.perf_counter()
    named = await parts.model_tier.classify(text)
    route_name = parts.router.catalog.route_of(named) if named else None
    if named is None or route_name is None:
        return unplaced
    elapsed = unplaced.elapsed_ms + (time.perf_counter() - started) * 1000
    return Intent(route_name, named, unplaced.confidence, "model", elapsed)


# -- escalate before the models ---------------------------------------------------------


async def escalate_before(turn: TurnContext, parts: TurnParts) -> Reply | None:
    """Asked for a person (in words or by a gesture), frustration, a sensitive topic, a streak of
    unplaced messages: a person, before any model runs. An unplaced message may be asked about."""
    assert turn.intent is not None
    if turn.reply_text is not None:
        return None  # a declined change, answered already
    gesture = turn.inbound.metadata.get(ESCALATE_METADATA)
    if gesture:
        turn.decision = EscalationDecision(True, "customer_request", str(gesture))
    else:
        turn.decision = parts.escalation.before_model(turn.inbound.text, turn.intent.name, turn.unknown_streak, turn.history())
    if turn.decision.escalate:
        turn.reply_text = parts.persona.escalation
    elif turn.intent.name == UNKNOWN and parts.settings.unknown_action == "clarify":
        turn.reply_text = parts.persona.clarify
    return None


# -- retrieve ---------------------------------------------------------------------------


async def retrieve(turn: TurnContext, parts: TurnParts) -> Reply | None:
    """Passages from the knowledge base for the customer's message, before any model runs.

    A short follow-up ("and to Canada?") is searched together with the customer's message before
    it; a yes to the bot's question, as that question. A knowledge base that cannot be searched is
    logged and the models hear there is no reference.
    """
    if turn.reply_text is not None or parts.retriever is None:
        return None
    assert turn.intent is not None
    asked = parts.settings.retrieval_for(turn.intent.route)
    if asked.k <= 0:
        return None
    text = turn.message.text
    said = next((m for m in reversed(turn.earlier) if m.role is not Role.SYSTEM), None)
    if said is not None and said.role is Role.BOT and said.text.rstrip().endswith("?") and is_yes(text):
        # "yes" to "Would you like help with a return instead?": the question is what was asked.
        text = said.text
    elif len(text.split()) <= parts.settings.follow_up_max_words:
        before = next((m.text for m in reversed(turn.earlier) if m.role is Role.CUSTOMER), None)
        text = f"{before}\n{text}" if before else text
    started = time.perf_counter()
    turn.retrieved = True
    try:
        turn.passages = await parts.retriever.search(replace(asked, text=text))
    except Exception:
        log.warning("retrieval_failed", exc_info=True)
        turn.passages = []
    seconds = time.perf_counter() - started
    parts.observer.retrieved(seconds)
    log.debug(
        "retrieved",
        passages=[p.id for p in turn.passages],
        scores=[round(p.score, 2) for p in turn.passages],
        latency_ms=round(seconds * 1000, 2),
    )
    return None


# -- answer -----------------------------------------------------------------------------


async def answer(turn: TurnContext, parts: TurnParts) -> Reply | None:
    """The route's strategy runs its models, streaming where the channel shows an answer as it is written."""
    if turn.reply_text is not None:
        return None  # decided before any model
    intent = turn.intent
    assert intent is not None
    allowed = parts.settings.route_tools.get(intent.route, frozenset()) if parts.tools is not None else frozenset()
    system = parts.system_prompt(intent.route, turn.traits.style)
    if turn.retrieved:
        system += "\n\n" + reference_block(turn.passages)
    if allowed or turn.tool_messages:
        system += "\n\n" + TOOL_RULES
    request = ChatRequest(
        messages=[ChatMessage("system", system)]
        + [ChatMessage(MODEL_ROLES[m.role], m.text) for m in turn.recent if m.role in MODEL_ROLES]
        + turn.tool_messages,
        route=intent.route,
        metadata={"intent": intent.name, "channel": turn.inbound.channel},
        passages=tuple(turn.passages),
    )
    chain = parts.chains[intent.route]
    deadline = parts.settings.turn_timeout_s
    # A streaming channel shows the answer as it is written ("delta" events); the reply is
    # still stored once, complete, and sent as the usual "message" event.
    streaming = _streaming(turn, parts) if turn.traits.streams and turn.recent else None
    try:
        # The strategy keeps to the deadline itself (and records what timed out); the outer
        # timeout is only a backstop.
        async with asyncio.timeout(deadline + DEADLINE_GRACE_S):
            if allowed:
                await _answer_with_tools(turn, parts, chain, request, deadline, streaming)
            elif streaming is not None:
                turn.chain = await chain.run_stream(request, streaming.on_delta, streaming.on_reset, deadline_s=deadline)
            else:
                turn.chain = await chain.run(request, deadline_s=deadline)
    except TimeoutError:
        log.error("turn_timeout", seconds=deadline)
        turn.chain = ChainResult(None)
    for attempt in turn.chain.attempts:
        log.debug(
            "model_call",
            model=attempt.model,
            outcome=attempt.outcome.value,
            latency_ms=round(attempt.latency_ms, 2),
            error=attempt.error,
        )
    return None


async def _answer_with_tools(
    turn: TurnContext, parts: TurnParts, chain: RouteStrategy, request: ChatRequest, deadline: float, streaming: Streaming | None
) -> None:
    """The route's models with its tools; a change to confirm or a handover ends the turn's answer there."""
    assert turn.intent is not None and parts.tools is not None
    context = turn.tools or tool_context(turn, parts, turn.intent.route)
    # A context made when a confirmed change ran, before retrieval: the passages came since.
    context.passages = list(turn.passages)
    turn.tools = context
    steps = parts.settings.max_tool_steps.get(turn.intent.route, 4)
    done = await answer_with_tools(chain, request, parts.tools, context, steps, deadline, streaming)
    turn.chain = done.chain
    turn.tool_calls += done.calls
    turn.passages = context.passages  # search_knowledge's finds can be cited too
    if done.stopped == "confirmation" and context.pending is not None:
        turn.pending = context.pending
        turn.reply_text = context.pending.question
    elif done.stopped == "escalation":
        turn.decision = EscalationDecision(True, "model_request", context.escalation)
        turn.reply_text = parts.persona.escalation


def _streaming(turn: TurnContext, parts: TurnParts) -> Streaming:
    """Pieces of the answer go out as "delta" events while it is written; a model that breaks
    off midway is followed by a "delta_reset" (drop what you have) and the next model."""
    streamed = StreamedAnswer(turn.traits.style)
    citations = StreamedCitations()  # the customer never sees a "[R1]", even for a moment
    conversation_id = turn.conversation_id

    async def on_delta(text: str) -> None:
        piece = streamed.piece(citations.piece(text))
        if piece:
            await parts.publish(conversation_id, "delta", {"text": piece})

    async def on_reset() -> None:
        streamed.reset()
        citations.reset()
        await parts.publish(conversation_id, "delta_reset", {})

    return Streaming(on_delta, on_reset)


# -- escalate after the models ----------------------------------------------------------


async def escalate_after(turn: TurnContext, parts: TurnParts) -> Reply | None:
    """Every model failed, or the bot repeats itself: a person. Otherwise the answer, fitted to the channel."""
    if turn.reply_text is not None:
        return None  # decided before any model
    result = turn.chain.result
    text = result.text if result else None
    if text is not None:
        # The ids the model cited become the reply's sources; the customer reads the text without them.
        text, turn.sources = cited(text, turn.passages)
    failures = [a.outcome.value for a in turn.chain.attempts]
    turn.decision = parts.escalation.after_model(turn.chain.ok, failures, text, turn.history())
    if text is not None and not turn.decision.escalate:
        turn.reply_text = fit_to_channel(parts.persona, turn.traits.style, text, turn.traits.splits_long_answers)
    elif turn.decision.escalate:
        # A model answered but said the same again: a person, not a loop.
        turn.reply_text = parts.persona.escalation if text is not None else parts.persona.apology
    else:
        turn.reply_text = parts.persona.fallback
    return None


# -- record -----------------------------------------------------------------------------


async def record(turn: TurnContext, parts: TurnParts) -> Reply | None:
    """The turn, its model calls and the reply (and its outbox row): one transaction."""
    intent, result, decision = turn.intent, turn.chain.result, turn.decision
    assert intent is not None
    if decision.escalate:
        outcome = "escalated"
    else:
        # A declined change is answered without a model: "I've left it as it is".
        outcome = "answered" if result or intent.tier == "confirmation" else "failed"
    stored = TurnRecord(
        conversation_id=turn.conversation_id,
        inbound_message_id=turn.message.id,
        outcome=outcome,
        latency_ms=turn.elapsed_ms(),
        reply_text=turn.reply_text,
        reply_role=Role.BOT,
        intent=intent.name,
        route=intent.route,
        confidence=intent.confidence,
        tier=intent.tier,
        model=result.model if result else None,
        calls=[attempt.record() for attempt in turn.chain.attempts],
        new_state=ConversationState.WAITING if decision.escalate else None,
        escalation_reason=decision.reason if decision.escalate else None,
        escalation_detail=decision.detail,
        # A handover starts the count again for when the bot has the conversation back.
        unknown_streak=0 if decision.escalate else turn.unknown_streak,
        sources=() if decision.escalate else tuple(turn.sources),
        tool_calls=tuple(turn.tool_calls),
        pending_action=turn.pending,
        verified_customer=turn.tools.verified if turn.tools else None,
        verify_failures=_failures_if_changed(turn),
    )
    if turn.previous_state is ConversationState.RESOLVED and stored.new_state is None:
        # A resolved conversation is the bot's again from the customer's next message.
        stored = replace(stored, new_state=ConversationState.BOT)
    turn.turn, turn.reply = await parts.store.finish_turn(stored)
    return None


def _failures_if_changed(turn: TurnContext) -> int | None:
    assert turn.conversation is not None
    if turn.tools is None or turn.tools.verify_failures == turn.conversation.verify_failures:
        return None
    return turn.tools.verify_failures


def typing(*stages: Stage) -> Stage:
    """`stages`, with the customer shown that the bot is typing while they run."""

    async def shown_typing(turn: TurnContext, parts: TurnParts) -> Reply | None:
        await parts.publish(turn.conversation_id, "typing", {"active": True})
        try:
            for stage in stages:
                reply = await stage(turn, parts)
                if reply is not None:
                    return reply
            return None
        finally:
            await parts.publish(turn.conversation_id, "typing", {"active": False})

    shown_typing.__qualname__ = "typing(" + ", ".join(stage.__name__ for stage in stages) + ")"
    return shown_typing


# -- deliver ----------------------------------------------------------------------------


async def deliver(turn: TurnContext, parts: TurnParts) -> Reply | None:
    """Live events for the customer's page and the staff consoles, one log line, and the Reply."""
    stored, reply, decision = turn.turn, turn.reply, turn.decision
    assert stored is not None
    conversation_id = turn.conversation_id
    if reply:
        await parts.publish(conversation_id, "message", {"message": reply, "sources": list(stored.sources)})
    state = ConversationState.WAITING if decision.escalate else ConversationState.BOT
    if state is not turn.previous_state:
        await parts.publish(conversation_id, "state", {"state": state})
    if decision.escalate:
        log.warning("escalated", reason=decision.reason, detail=decision.detail)
        await parts.publish_staff(
            "escalation",
            conversation_id,
            {"channel": turn.inbound.channel, "reason": decision.reason, "detail": decision.detail},
        )
    parts.observer.turn_done(
        TurnReport(
            channel=turn.inbound.channel,
            outcome=stored.outcome,
            latency_s=stored.latency_ms / 1000,
            route=stored.route,
            tier=stored.tier,
            escalation_reason=decision.reason if decision.escalate else None,
            calls=tuple(attempt.record() for attempt in turn.chain.attempts),
        )
    )
    # One line per turn at info; the routing and per-attempt lines are at debug.
    log.info(
        "turn_done",
        outcome=stored.outcome,
        intent=stored.intent,
        route=stored.route,
        tier=stored.tier,
        confidence=stored.confidence,
        model=stored.model,
        latency_ms=round(stored.latency_ms, 2),
    )
    return Reply(
        conversation_id=conversation_id,
        inbound=turn.message,
        text=reply.text if reply else None,
        message=reply,
        route=stored.route,
        model=stored.model,
        escalated=decision.escalate,
        state=state,
        sources=stored.sources,
    )


# -- a message found unanswered too late ------------------------------------------------


def missed(age_s: float) -> Stage:
    """An apology and a person instead of a late answer; nothing more for a conversation staff already have."""

    async def missed_message(turn: TurnContext, parts: TurnParts) -> Reply | None:
        state = turn.previous_state
        with_staff = state in WITH_STAFF
        turn.decision = EscalationDecision(not with_staff, "missed_message", f"unanswered for {round(age_s / 60)} minutes")
        stored = TurnRecord(
            conversation_id=turn.conversation_id,
            inbound_message_id=turn.message.id,
            outcome="missed",
            latency_ms=turn.elapsed_ms(),
            # A conversation already with staff gets no second apology: they have it in front of them.
            reply_text=None if with_staff else parts.persona.missed,
            reply_role=Role.SYSTEM,
            new_state=None if with_staff else ConversationState.WAITING,
            escalation_reason=None if with_staff else turn.decision.reason,
            escalation_detail=turn.decision.detail,
        )
        turn.turn, turn.reply = await parts.store.finish_turn(stored)
        if with_staff:
            parts.observer.turn_done(TurnReport(turn.inbound.channel, "missed", turn.turn.latency_ms / 1000))
            await parts.publish_staff("message", turn.conversation_id, {"message": turn.message})
            return Reply(turn.conversation_id, turn.message, None, None, None, None, True, state)
        return None

    return missed_message


TURN: tuple[Stage, ...] = (
    load,
    relay_to_staff,
    typing(settle, route, escalate_before, retrieve, answer, escalate_after, record),
    deliver,
)


def missed_turn(age_s: float) -> tuple[Stage, ...]:
    return (load, missed(age_s), deliver)

"""The conversation manager: the one place that sees a whole turn.

A turn, in order: store the message (dedupe) and take its place in the conversation's line →
wait for that place → relay if a person has it → route → escalate on request → model chain → escalate on failure → store the
turn, its model calls and the reply → publish → return the Reply.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING

import structlog

from agent.contracts import (
    ESCALATE_METADATA,
    STAFF_TOPIC,
    ChannelTraits,
    ConversationEvent,
    ConversationNotFound,
    ConversationState,
    EventStream,
    InboundMessage,
    MessageView,
    Reply,
    Role,
    traits_of,
    utcnow,
)
from agent.escalation import EscalationDecision, EscalationPolicy, History
from agent.live.events import EventBus
from agent.live.locks import ConversationLocks, Place
from agent.models import ChainResult, ChatMessage, ChatRequest, RouteStrategy
from agent.routing import UNKNOWN, Intent, Router
from agent.routing.model_tier import ModelIntentTier
from agent.store.records import TurnAlreadyDone, TurnRecord, UnknownConversation
from agent.store.views import ConversationView, SavedInbound, TurnContext, TurnView
from agent.text import checked_text
from personas import Persona, StreamedAnswer, fit_to_channel, system_prompt

if TYPE_CHECKING:
    # Only for the annotations: the manager works on views, the composition root hands it the stores.
    from agent.store.outbox import OutboxStore
    from agent.store.repository import Store

log = structlog.get_logger(__name__)

DEADLINE_GRACE_S = 0.5
MODEL_ROLES = {Role.CUSTOMER: "user", Role.BOT: "assistant", Role.STAFF: "assistant"}


@dataclass(frozen=True, slots=True)
class PendingMessage:
    """A stored message no turn took up, with its place in its conversation's line."""

    conversation: ConversationView
    message: MessageView
    place: Place


@dataclass(frozen=True, slots=True)
class TurnSettings:
    max_text_chars: int = 4000
    history_messages: int = 10
    turn_timeout_s: float = 30.0
    unknown_action: str = "route"  # route | clarify


class ConversationManager:
    def __init__(
        self,
        store: Store,
        router: Router,
        chains: Mapping[str, RouteStrategy],
        persona: Persona,
        escalation: EscalationPolicy,
        locks: ConversationLocks,
        events: EventBus,
        settings: TurnSettings = TurnSettings(),
        model_tier: ModelIntentTier | None = None,
        outbox: OutboxStore | None = None,
        channels: Mapping[str, ChannelTraits] | None = None,
    ) -> None:
        self.store = store
        self.channels = channels or {}
        self.outbox = outbox
        self.router = router
        self.chains = chains
        self.persona = persona
        self.escalation = escalation
        self.locks = locks
        self.bus = events
        self.settings = settings
        self.model_tier = model_tier
        self._prompts: dict[tuple[str, str], str] = {}
        # Messages `accept`ed and waiting in line for `handle` to run their turn.
        self._accepted: dict[tuple[str, str, str], tuple[SavedInbound, Place]] = {}

    # -- the service channels see ---------------------------------------------------------

    async def open_conversation(self, channel: str, conversation_key: str, channel_user_id: str) -> str:
        conversation = await self.store.create_conversation(channel, conversation_key, channel_user_id)
        log.info("conversation_opened", conversation_id=conversation.id, channel=channel)
        return conversation.id

    async def history(
        self, conversation_id: str, after: int | None = None, limit: int = 200
    ) -> tuple[list[MessageView], ConversationState] | None:
        conversation = await self.store.get_conversation(conversation_id)
        if conversation is None:
            return None
        messages = await self.store.messages(conversation_id, after=after, limit=limit)
        return messages, conversation.state

    def events(self, conversation_id: str) -> EventStream:
        return self.bus.subscribe(conversation_id)

    async def deliver_inline(self, message_id: int) -> bool:
        return True if self.outbox is None else await self.outbox.take_inline(message_id)

    async def release_to_outbox(self, message_id: int) -> None:
        if self.outbox is not None:
            await self.outbox.release(message_id)

    async def find_conversation(self, channel: str, conversation_key: str) -> str | None:
        conversation = await self.store.conversation_by_key(channel, conversation_key)
        return conversation.id if conversation else None

    async def end_conversation(self, channel: str, conversation_key: str, note: str) -> ConversationState | None:
        found = await self.store.conversation_by_key(channel, conversation_key)
        if found is None:
            return None
        # In turn order: a turn still running finishes before the conversation closes.
        async with self.locks.hold(found.id):
            ended = await self.store.end_conversation(found.id, note)
        if ended is None:
            return None
        conversation, message = ended
        state = conversation.state
        log.info("conversation_ended", conversation_id=found.id, channel=channel, state=state.value)
        shown = message.to_json()
        await self._publish(found.id, "message", {"message": shown})
        if state in (ConversationState.WAITING, ConversationState.WITH_HUMAN):
            # Whoever has it in the console sees at once that the customer is gone.
            await self._publish_staff("message", found.id, {"message": shown})
        if state is not found.state:
            await self._publish(found.id, "state", {"state": state.value})
        return state

    async def accept(self, inbound: InboundMessage) -> MessageView:
        """Store the message, take its place in the conversation's line and show it live, without
        running its turn: `handle` with the same message does that next, in that place."""
        saved, place = await self._store(inbound)
        view = saved.message
        if saved.duplicate:
            await place.leave()
            return view
        key = _accepted_key(inbound)
        if key is None:
            await place.leave()  # nothing to find it by again: `handle` will store and queue it anew
        else:
            self._accepted[key] = (saved, place)
        await self._publish(saved.conversation.id, "message", {"message": view.to_json()})
        return view

    async def _store(self, inbound: InboundMessage) -> tuple[SavedInbound, Place]:
        """Save the message between `arrive` and `queue`: its place in line is its stored id."""
        text = checked_text(inbound.text, self.settings.max_text_chars)
        conversation_id = inbound.conversation_id
        try:
            if conversation_id is None:
                conversation_id = (await self.store.open_conversation_for(inbound)).id
            place = await self.locks.arrive(conversation_id)
            try:
                saved = await self.store.save_inbound(replace(inbound, text=text, conversation_id=conversation_id))
                await place.queue(saved.message.id)
            except BaseException:
                await place.leave()
                raise
        except UnknownConversation as exc:
            raise ConversationNotFound(str(exc)) from exc
        return saved, place

    async def handle(self, inbound: InboundMessage) -> Reply:
        key = _accepted_key(inbound)
        accepted = self._accepted.pop(key, None) if key is not None else None
        if accepted is not None:
            saved, place = accepted
        else:
            saved, place = await self._store(inbound)
        try:
            conversation_id = saved.conversation.id
            inbound_view = saved.message
            with structlog.contextvars.bound_contextvars(conversation_id=conversation_id, turn_id=inbound_view.id):
                if not saved.duplicate and accepted is None:
                    await self._publish(conversation_id, "message", {"message": inbound_view.to_json()})
                await place.reached()
                return await self._take_turn(inbound, conversation_id, inbound_view)
        finally:
            await place.leave()

    async def _take_turn(self, inbound: InboundMessage, conversation_id: str, inbound_view: MessageView) -> Reply:
        """In the message's place in line: its turn, unless one already ran (a retry, a recovery)."""
        context = await self.store.context(conversation_id, inbound_view.id, self.settings.history_messages)
        if context.done is not None:
            log.info("duplicate_message", channel_message_id=inbound.provider_message_id)
            return await self._replay(conversation_id, inbound_view, *context.done)
        try:
            return await self._run_turn(inbound, context, inbound_view)
        except TurnAlreadyDone as done:
            log.warning("turn_raced", channel_message_id=inbound.provider_message_id)
            return await self._replay(conversation_id, inbound_view, done.turn, done.reply)

    # -- messages no turn took up -----------------------------------------------------------

    async def queue_unanswered(
        self, channels: Collection[str], until: datetime, since: datetime | None = None
    ) -> list[PendingMessage]:
        """A place in line, oldest first, for every message on `channels` stored between `since`
        and `until` that no turn took up (the process stopped between storing and answering it)
        and that nobody holds a place for; `answer_pending` answers each."""
        pending: list[PendingMessage] = []
        after_id = 0
        try:
            while rows := await self.store.unanswered(channels, until, since, after_id):
                for conversation, message in rows:
                    after_id = message.id
                    if await self.locks.is_queued(conversation.id, message.id):
                        continue  # waiting in line here or in another process: not left behind
                    place = await self.locks.arrive(conversation.id)
                    try:
                        await place.queue(message.id)
                    except BaseException:
                        await place.leave()
                        raise
                    pending.append(PendingMessage(conversation, message, place))
        except BaseException:
            # Half a backlog in line would hold its conversations up for good.
            for taken in pending:
                await taken.place.leave()
            raise
        return pending

    async def answer_pending(self, pending: PendingMessage, max_age_s: float) -> Reply:
        """Its turn, in its place; past `max_age_s` an apology and a person instead of a late answer."""
        conversation, message = pending.conversation, pending.message
        inbound = InboundMessage(
            channel=conversation.channel,
            channel_user_id=conversation.channel_user_id,
            conversation_key=conversation.conversation_key,
            conversation_id=conversation.id,
            text=message.text,
            provider_message_id=message.channel_message_id,
            received_at=message.created_at,
        )
        view = message
        age_s = (utcnow() - inbound.received_at).total_seconds()
        try:
            with structlog.contextvars.bound_contextvars(conversation_id=conversation.id, turn_id=view.id):
                await pending.place.reached()
                if age_s > max_age_s:
                    reply = await self._answer_missed(inbound, view, age_s)
                else:
                    reply = await self._take_turn(inbound, conversation.id, view)
                log.info("unanswered_message_answered", channel=conversation.channel, age_s=round(age_s, 1))
        finally:
            await pending.place.leave()
        if reply.message is not None and not reply.duplicate:
            await self.release_to_outbox(reply.message.id)  # nobody waits to answer it inline any more
        return reply

    async def _answer_missed(self, inbound: InboundMessage, view: MessageView, age_s: float) -> Reply:
        started = time.perf_counter()
        context = await self.store.context(inbound.conversation_id or "", view.id, self.settings.history_messages)
        if context.done is not None:
            return await self._replay(context.conversation.id, view, *context.done)
        conversation = context.conversation
        state = conversation.state
        with_staff = state in (ConversationState.WAITING, ConversationState.WITH_HUMAN)
        decision = EscalationDecision(not with_staff, "missed_message", f"unanswered for {round(age_s / 60)} minutes")
        record = TurnRecord(
            conversation_id=conversation.id,
            inbound_message_id=view.id,
            outcome="missed",
            latency_ms=(time.perf_counter() - started) * 1000,
            # A conversation already with staff gets no second apology: they have it in front of them.
            reply_text=None if with_staff else self.persona.missed,
            reply_role=Role.SYSTEM,
            new_state=None if with_staff else ConversationState.WAITING,
            escalation_reason=None if with_staff else decision.reason,
            escalation_detail=decision.detail,
        )
        try:
            turn, reply_message = await self.store.finish_turn(record)
        except TurnAlreadyDone as done:
            return await self._replay(conversation.id, view, done.turn, done.reply)
        if with_staff:
            await self._publish_staff("message", conversation.id, {"message": view.to_json()})
            return Reply(conversation.id, view, None, None, None, None, True, state)
        return await self._deliver(inbound, conversation.id, view, turn, reply_message, decision, state)

    # -- one turn -----------------------------------------------------------------------

    async def _run_turn(self, inbound: InboundMessage, context: TurnContext, inbound_view: MessageView) -> Reply:
        started = time.perf_counter()
        conversation, recent = context.conversation, context.recent
        conversation_id = conversation.id
        state = conversation.state
        if state in (ConversationState.WAITING, ConversationState.WITH_HUMAN):
            return await self._relay_to_staff(conversation, recent, inbound_view, started)

        await self._publish(conversation_id, "typing", {"active": True})
        try:
            intent = self.router.classify(inbound_view.text, conversation.route)
            if intent.name == UNKNOWN and self.model_tier is not None:
                intent = await self._ask_model_tier(inbound_view.text, intent)
            log.debug("routed", route=intent.route, intent=intent.name, tier=intent.tier, confidence=intent.confidence)
            unknown_streak = conversation.unknown_streak + 1 if intent.name == UNKNOWN else 0
            reply_text, decision, chain_result = await self._answer(
                conversation_id, inbound_view, inbound, intent, unknown_streak, recent
            )
            record = self._turn_record(
                conversation_id, inbound_view, intent, decision, chain_result, reply_text, unknown_streak, started
            )
            if state is ConversationState.RESOLVED and record.new_state is None:
                # A resolved conversation is the bot's again from the customer's next message.
                record = replace(record, new_state=ConversationState.BOT)
            turn, reply_message = await self.store.finish_turn(record)
        finally:
            await self._publish(conversation_id, "typing", {"active": False})
        return await self._deliver(inbound, conversation_id, inbound_view, turn, reply_message, decision, state)

    async def _answer(
        self,
        conversation_id: str,
        inbound_view: MessageView,
        inbound: InboundMessage,
        intent: Intent,
        unknown_streak: int,
        recent: list[MessageView],
    ) -> tuple[str, EscalationDecision, ChainResult]:
        """Escalate on request → clarify → the route's models → escalate when they all fail."""
        earlier = [m for m in recent if m.id != inbound_view.id]
        history = History(
            customer=[m.text for m in earlier if m.role is Role.CUSTOMER],
            bot=[m.text for m in earlier if m.role is Role.BOT],
        )
        gesture = inbound.metadata.get(ESCALATE_METADATA)
        if gesture:
            decision = EscalationDecision(True, "customer_request", str(gesture))
        else:
            decision = self.escalation.before_model(inbound.text, intent.name, unknown_streak, history)
        if decision.escalate:
            return self.persona.escalation, decision, ChainResult(None)
        if intent.name == UNKNOWN and self.settings.unknown_action == "clarify":
            return self.persona.clarify, decision, ChainResult(None)
        chain_result = await self._ask_models(conversation_id, intent, inbound.channel, recent)
        answer = chain_result.result.text if chain_result.result else None
        failures = [a.outcome.value for a in chain_result.attempts]
        decision = self.escalation.after_model(chain_result.ok, failures, answer, history)
        if answer is not None and not decision.escalate:
            traits = self._traits(inbound.channel)
            return fit_to_channel(self.persona, traits.style, answer, traits.splits_long_answers), decision, chain_result
        if decision.escalate:
            # A model answered but said the same again: a person, not a loop.
            text = self.persona.escalation if answer is not None else self.persona.apology
            return text, decision, chain_result
        return self.persona.fallback, decision, chain_result

    async def _ask_model_tier(self, text: str, unplaced: Intent) -> Intent:
        assert self.model_tier is not None
        started = time.perf_counter()
        named = await self.model_tier.classify(text)
        route = self.router.catalog.route_of(named) if named else None
        if named is None or route is None:
            return unplaced
        elapsed = unplaced.elapsed_ms + (time.perf_counter() - started) * 1000
        return Intent(route, named, unplaced.confidence, "model", elapsed)

    async def _ask_models(
        self, conversation_id: str, intent: Intent, channel: str, recent: list[MessageView]
    ) -> ChainResult:
        request = ChatRequest(
            messages=[ChatMessage("system", self._system_prompt(intent.route, channel))]
            + [ChatMessage(MODEL_ROLES[m.role], m.text) for m in recent if m.role in MODEL_ROLES],
            route=intent.route,
            metadata={"intent": intent.name, "channel": channel},
        )
        chain = self.chains[intent.route]
        deadline = self.settings.turn_timeout_s
        try:
            # The strategy keeps to the deadline itself (and records what timed out); the
            # outer timeout is only a backstop.
            async with asyncio.timeout(deadline + DEADLINE_GRACE_S):
                # A streaming channel shows the answer as it is written ("delta" events); the reply
                # is still stored once, complete, and sent as the usual "message" event.
                if self._traits(channel).streams and recent:
                    result = await self._stream_models(conversation_id, chain, request, deadline, channel)
                else:
                    result = await chain.run(request, deadline_s=deadline)
        except TimeoutError:
            log.error("turn_timeout", seconds=self.settings.turn_timeout_s)
            return ChainResult(None)
        for attempt in result.attempts:
            log.debug(
                "model_call",
                model=attempt.model,
                outcome=attempt.outcome.value,
                latency_ms=round(attempt.latency_ms, 2),
                error=attempt.error,
            )
        return result

    async def _stream_models(
        self, conversation_id: str, chain: RouteStrategy, request: ChatRequest, deadline: float, channel: str
    ) -> ChainResult:
        """Pieces of the answer go out as "delta" events while it is written; a model that breaks
        off midway is followed by a "delta_reset" (drop what you have) and the next model."""
        streamed = StreamedAnswer(self._traits(channel).style)

        async def on_delta(text: str) -> None:
            piece = streamed.piece(text)
            if piece:
                await self._publish(conversation_id, "delta", {"text": piece})

        async def on_reset() -> None:
            streamed.reset()
            await self._publish(conversation_id, "delta_reset", {})

        return await chain.run_stream(request, on_delta, on_reset, deadline_s=deadline)

    def _turn_record(
        self,
        conversation_id: str,
        inbound_view: MessageView,
        intent: Intent,
        decision: EscalationDecision,
        chain_result: ChainResult,
        reply_text: str,
        unknown_streak: int,
        started: float,
    ) -> TurnRecord:
        calls = [attempt.record() for attempt in chain_result.attempts]
        result = chain_result.result
        if decision.escalate:
            outcome = "escalated"
        else:
            outcome = "answered" if result else "failed"
        return TurnRecord(
            conversation_id=conversation_id,
            inbound_message_id=inbound_view.id,
            outcome=outcome,
            latency_ms=(time.perf_counter() - started) * 1000,
            reply_text=reply_text,
            reply_role=Role.BOT,
            intent=intent.name,
            route=intent.route,
            confidence=intent.confidence,
            tier=intent.tier,
            model=result.model if result else None,
            calls=calls,
            new_state=ConversationState.WAITING if decision.escalate else None,
            escalation_reason=decision.reason if decision.escalate else None,
            escalation_detail=decision.detail,
            # A handover starts the count again for when the bot has the conversation back.
            unknown_streak=0 if decision.escalate else unknown_streak,
        )

    async def _relay_to_staff(
        self, conversation: ConversationView, recent: list[MessageView], inbound_view: MessageView, started: float
    ) -> Reply:
        """A person has (or is about to have) this conversation: the bot stays quiet.

        While waiting, the customer hears once that their messages are passed on, not after
        every message; once a person holds the conversation, that person answers.
        """
        earlier = [m for m in recent if m.id != inbound_view.id]
        already_told = conversation.state is ConversationState.WITH_HUMAN or _told_since_handover(earlier)
        record = TurnRecord(
            conversation_id=conversation.id,
            inbound_message_id=inbound_view.id,
            outcome="relayed",
            latency_ms=(time.perf_counter() - started) * 1000,
            reply_text=None if already_told else self.persona.waiting,
            reply_role=Role.SYSTEM,
        )
        turn, reply_message = await self.store.finish_turn(record)
        log.info("relayed_to_staff", state=conversation.state.value)
        await self._publish_staff("message", conversation.id, {"message": inbound_view.to_json()})
        if reply_message is not None:
            await self._publish(conversation.id, "message", {"message": reply_message.to_json()})
        return Reply(
            conversation_id=conversation.id,
            inbound=inbound_view,
            text=reply_message.text if reply_message else None,
            message=reply_message,
            route=None,
            model=None,
            escalated=True,
            state=conversation.state,
        )

    async def _deliver(
        self,
        inbound: InboundMessage,
        conversation_id: str,
        inbound_view: MessageView,
        turn: TurnView,
        reply_view: MessageView | None,
        decision: EscalationDecision,
        previous: ConversationState,
    ) -> Reply:
        if reply_view:
            await self._publish(conversation_id, "message", {"message": reply_view.to_json()})
        state = ConversationState.WAITING if decision.escalate else ConversationState.BOT
        if state is not previous:
            await self._publish(conversation_id, "state", {"state": state.value})
        if decision.escalate:
            log.warning("escalated", reason=decision.reason, detail=decision.detail)
            await self._publish_staff(
                "escalation",
                conversation_id,
                {"channel": inbound.channel, "reason": decision.reason, "detail": decision.detail},
            )
        # One line per turn at info; the routing and per-attempt lines are at debug.
        log.info(
            "turn_done",
            outcome=turn.outcome,
            intent=turn.intent,
            route=turn.route,
            tier=turn.tier,
            confidence=turn.confidence,
            model=turn.model,
            latency_ms=round(turn.latency_ms, 2),
        )
        return Reply(
            conversation_id=conversation_id,
            inbound=inbound_view,
            text=reply_view.text if reply_view else None,
            message=reply_view,
            route=turn.route,
            model=turn.model,
            escalated=decision.escalate,
            state=state,
        )

    async def _replay(
        self, conversation_id: str, inbound_view: MessageView, turn: TurnView, reply: MessageView | None
    ) -> Reply:
        """The answer a duplicate delivery already got, without running the turn again."""
        conversation = await self.store.get_conversation(conversation_id)
        state = conversation.state if conversation else ConversationState.BOT
        return Reply(
            conversation_id=conversation_id,
            inbound=inbound_view,
            text=reply.text if reply else None,
            message=reply,
            route=turn.route if turn.outcome != "relayed" else None,
            model=turn.model,
            escalated=turn.outcome in ("escalated", "relayed"),
            state=state,
            duplicate=True,
        )

    # -- helpers ------------------------------------------------------------------------

    def _traits(self, channel: str) -> ChannelTraits:
        return traits_of(self.channels, channel)

    def _system_prompt(self, route: str, channel: str) -> str:
        key = (route, channel)
        prompt = self._prompts.get(key)
        if prompt is None:
            prompt = self._prompts[key] = system_prompt(self.persona, route, self._traits(channel).style)
        return prompt

    async def _publish(self, conversation_id: str, kind: str, data: dict[str, object]) -> None:
        await self.bus.publish(ConversationEvent(kind, conversation_id, data))

    async def _publish_staff(self, kind: str, conversation_id: str, data: dict[str, object]) -> None:
        """Tell every staff console: a new escalation, or a customer message a person should see."""
        await self.bus.publish(ConversationEvent(kind, STAFF_TOPIC, {"conversation_id": conversation_id, **data}))


def _accepted_key(inbound: InboundMessage) -> tuple[str, str, str] | None:
    if not inbound.provider_message_id:
        return None
    return inbound.channel, inbound.conversation_id or inbound.conversation_key, inbound.provider_message_id


def _told_since_handover(earlier: list[MessageView]) -> bool:
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

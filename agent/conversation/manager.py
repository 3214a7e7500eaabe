"""The conversation manager: the facade every channel calls, over the turn's stages.

Channels open conversations, read history and live events, and hand in messages: `accept`
stores one and takes its place in the conversation's line; `handle` runs its turn there, as
the stages in `agent.conversation.stages` say. Messages a stopped process left unanswered are
queued and answered here too, in their place.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING

import structlog

from agent.contracts import (
    ChannelTraits,
    ConversationNotFound,
    ConversationState,
    EventStream,
    InboundMessage,
    MessageView,
    Reply,
    Retriever,
    Taken,
    utcnow,
)
from agent.conversation import stages
from agent.conversation.context import TurnContext
from agent.conversation.parts import NoObserver, TurnObserver, TurnParts, TurnSettings
from agent.conversation.stages import TURN, Stage, missed_turn
from agent.escalation import EscalationPolicy
from agent.live.events import EventBus
from agent.live.locks import ConversationLocks, Place
from agent.models import RouteStrategy
from agent.routing import Router
from agent.routing.model_tier import ModelIntentTier
from agent.store.records import TurnAlreadyDone, UnknownConversation
from agent.store.views import ConversationView, SavedInbound
from agent.tasks import BackgroundTasks, within
from agent.text import checked_text
from agent.tools import ToolBox
from personas import Persona

if TYPE_CHECKING:
    # Only for the annotations: the manager works on views, the composition root hands it the stores.
    from agent.store.conversations import ConversationStore
    from agent.store.outbox import OutboxStore

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class PendingMessage:
    """A stored message no turn took up, with its place in its conversation's line."""

    conversation: ConversationView
    message: MessageView
    place: Place


class ConversationManager:
    """The service channels see (`agent.contracts.ConversationService`), and the recovery of missed turns."""

    def __init__(
        self,
        store: ConversationStore,
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
        retriever: Retriever | None = None,
        tools: ToolBox | None = None,
        observer: TurnObserver | None = None,
    ) -> None:
        self.store = store
        self.outbox = outbox
        self.persona = persona
        self.locks = locks
        self.bus = events
        self.settings = settings
        self.parts = TurnParts(
            store=store,
            router=router,
            chains=chains,
            persona=persona,
            escalation=escalation,
            bus=events,
            settings=settings,
            channels=channels or {},
            model_tier=model_tier,
            retriever=retriever,
            tools=tools,
            observer=observer or NoObserver(),
        )
        # Turns `take` started, by message, so a repeat of a message waits for its turn.
        self._tasks = BackgroundTasks("turns")
        self._running: dict[tuple[str, str, str], asyncio.Task[Reply]] = {}

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
        """Take a reply out of the outbox to send it in the caller's response; False: the outbox has it."""
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
        await self._publish(found.id, "message", {"message": message})
        if state in (ConversationState.WAITING, ConversationState.WITH_HUMAN):
            # Whoever has it in the console sees at once that the customer is gone.
            await self._publish_staff("message", found.id, {"message": message})
        if state is not found.state:
            await self._publish(found.id, "state", {"state": state})
        return state

    async def take(self, inbound: InboundMessage, inline_deadline_s: float = 0.0) -> Taken:
        """Store the message and take its place in line (both done when this returns, so the
        channel may acknowledge), then run its turn there.

        An answer ready within `inline_deadline_s` is the caller's to send in its own response
        (`Taken.reply`); a later one, or any with no deadline, leaves through the outbox. A
        repeat of a message whose turn is running waits for that turn instead of starting one.
        """
        saved, place = await self._store(inbound)
        key = _message_key(inbound)
        task = self._running.get(key) if key is not None else None
        if task is None:
            task = self._tasks.spawn(self._in_place(inbound, saved, place, announce=not saved.duplicate), "turn", report=False)
            if key is not None:
                self._running[key] = task
                task.add_done_callback(lambda done: self._running.pop(key, None) if self._running.get(key) is done else None)
        else:
            await place.leave()
        reply = await within(task, inline_deadline_s) if inline_deadline_s > 0 else None
        if reply is None:
            if inline_deadline_s > 0:
                log.info("reply_late", deadline_s=inline_deadline_s, message_id=saved.message.id)
            self._tasks.spawn(self._release_when_done(task), "turn_to_outbox", message_id=saved.message.id)
            return Taken(saved.message, None)
        if reply.message is None or not await self.deliver_inline(reply.message.id):
            return Taken(saved.message, None)  # nothing to say, or a repeat whose answer went already
        return Taken(saved.message, reply)

    async def _release_when_done(self, task: asyncio.Task[Reply]) -> None:
        reply = await task
        # A repeat's replayed answer is the first delivery's to release: releasing it again
        # would cut short a retry's backoff, or the wait a rate limit asked for.
        if reply.message is not None and not reply.duplicate:
            await self.release_to_outbox(reply.message.id)

    async def close(self, grace_s: float = 5.0) -> None:
        """On shutdown: let running turns finish for a while (their messages are stored either way)."""
        await self._tasks.close(grace_s)

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
        saved, place = await self._store(inbound)
        return await self._in_place(inbound, saved, place, announce=not saved.duplicate)

    async def _in_place(self, inbound: InboundMessage, saved: SavedInbound, place: Place, announce: bool) -> Reply:
        """Show the message live, wait for its place in line, and run its turn there."""
        try:
            conversation_id = saved.conversation.id
            with structlog.contextvars.bound_contextvars(conversation_id=conversation_id, turn_id=saved.message.id):
                if announce:
                    await self._publish(conversation_id, "message", {"message": saved.message})
                await place.reached()
                return await self._take_turn(inbound, conversation_id, saved.message)
        finally:
            await place.leave()

    async def _take_turn(self, inbound: InboundMessage, conversation_id: str, message: MessageView) -> Reply:
        """In the message's place in line: its turn, unless one already ran (a retry, a recovery)."""
        return await self._run(TURN, self._turn(inbound, conversation_id, message))

    async def _run(self, turn_stages: tuple[Stage, ...], turn: TurnContext) -> Reply:
        try:
            return await stages.run(turn_stages, turn, self.parts)
        except TurnAlreadyDone as done:
            log.warning("turn_raced", channel_message_id=turn.inbound.provider_message_id)
            return await stages.replay(self.parts, turn.conversation_id, turn.message, done.turn, done.reply)

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
                    reply = await self._run(missed_turn(age_s), self._turn(inbound, conversation.id, view))
                else:
                    reply = await self._take_turn(inbound, conversation.id, view)
                log.info("unanswered_message_answered", channel=conversation.channel, age_s=round(age_s, 1))
        finally:
            await pending.place.leave()
        if reply.message is not None and not reply.duplicate:
            await self.release_to_outbox(reply.message.id)  # nobody waits to answer it inline any more
        return reply

    # -- helpers ------------------------------------------------------------------------

    def _turn(self, inbound: InboundMessage, conversation_id: str, message: MessageView) -> TurnContext:
        return TurnContext(inbound, conversation_id, message, self.parts.traits(inbound.channel))

    async def _publish(self, conversation_id: str, kind: str, data: dict[str, object]) -> None:
        await self.parts.publish(conversation_id, kind, data)

    async def _publish_staff(self, kind: str, conversation_id: str, data: dict[str, object]) -> None:
        await self.parts.publish_staff(kind, conversation_id, data)


def _message_key(inbound: InboundMessage) -> tuple[str, str, str] | None:
    if not inbound.provider_message_id:
        return None
    return inbound.channel, inbound.conversation_id or inbound.conversation_key, inbound.provider_message_id

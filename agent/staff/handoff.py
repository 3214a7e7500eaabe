"""Staff operations on escalated conversations: the handoff's decisions.

States: bot → waiting (escalated) → with_human (claimed) → resolved, which is the bot's again
from the customer's next message; a person may also hand a conversation straight back to the
bot, or reopen a resolved one. The store makes each change atomically and only from the
expected state; this module turns a refusal into a clear error, and publishes what changed:
to the customer's conversation (their live chat) and to every staff console.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

import structlog

from agent.contracts import (
    STAFF_TOPIC,
    ConversationDetail,
    ConversationEvent,
    ConversationState,
    EventStream,
    HandoffConflict,
    HandoffError,
    HandoffForbidden,
    HandoffNotFound,
    MessageView,
    NoteView,
    QueueItem,
    Role,
    RouteStep,
    StaffMember,
    StaffReply,
    StaffRole,
    utcnow,
)
from agent.escalation.hours import BusinessHours
from agent.staff.summary import summarize
from agent.staff.model_summary import ModelSummarizer
from agent.live.events import EventBus
from agent.live.locks import ConversationLocks
from agent.store.views import HANDED_BACK, RESOLVED, Snapshot
from agent.text import checked_text

if TYPE_CHECKING:
    # Only for the annotations: the staff side works on views, the composition root hands it the store.
    from agent.store.handoff import HandoffStore

log = structlog.get_logger(__name__)


def _not_found(conversation_id: str) -> HandoffNotFound:
    return HandoffNotFound("not_found", f"No conversation {conversation_id}.")


def _refusal(snapshot: Snapshot, staff: StaffMember, action: str) -> HandoffError:
    """Why `staff` may not `action` this conversation as the snapshot shows it."""
    state = snapshot.state
    holder = snapshot.holder
    if state is ConversationState.WITH_HUMAN and holder is not None and holder.id != staff.id:
        return HandoffForbidden("held_by_other", f"{holder.display_name} is handling this conversation.")
    if state is ConversationState.RESOLVED:
        return HandoffConflict("resolved", "This conversation is resolved; reopen it first.")
    if state is ConversationState.WAITING:
        return HandoffConflict("not_claimed", f"Claim this conversation before you {action}.")
    return HandoffConflict("not_escalated", "The bot has this conversation; nobody asked for a person.")


@dataclass(frozen=True, slots=True)
class HandoffNotices:
    """What the customer is told when a person joins, resolves or hands back; None says nothing.

    `{staff}` stands for the staff member's display name. The notices go out on the customer's
    own channel like any message (live on the web, through the outbox for Slack and SMS).
    """

    joined: str | None = None
    resolved: str | None = None
    handed_back: str | None = None
    closed: str | None = None  # a waiting conversation closed unclaimed (the customer had gone)

    @staticmethod
    def fill(text: str | None, staff: StaffMember) -> str | None:
        return text.replace("{staff}", staff.display_name) if text else None


class Handoff:
    """The staff side of the manager; the staff console calls it and nothing else."""

    def __init__(
        self,
        store: HandoffStore,
        locks: ConversationLocks,
        bus: EventBus,
        max_text_chars: int = 4000,
        summarizer: ModelSummarizer | None = None,
        notices: HandoffNotices = HandoffNotices(),
    ) -> None:
        self.store = store
        self.locks = locks
        self.bus = bus
        self.max_text_chars = max_text_chars
        self.summarizer = summarizer
        self.notices = notices

    async def queue(self) -> list[QueueItem]:
        return await self.store.queue()

    async def detail(self, conversation_id: str) -> ConversationDetail:
        stored = await self.store.detail(conversation_id)
        if stored is None:
            raise _not_found(conversation_id)
        conversation = stored.conversation
        current = stored.escalations[-1] if stored.escalations else None
        reason, why = (current.reason, current.detail) if current else (None, None)
        # A customer known by nothing but this conversation (a web visitor) has no name to show;
        # other channels name them (a phone number, a Slack user).
        known = conversation.channel_user_id != conversation.conversation_key
        customer = conversation.channel_user_id if known else None
        summary = summarize(
            conversation.channel,
            reason,
            why,
            [t.route for t in stored.turns],
            [m.text for m in stored.messages if m.role is Role.CUSTOMER],
            customer=customer,
        )
        source = "extractive"
        if self.summarizer is not None and current is not None and stored.messages:
            written = await self.summarizer.summary(
                conversation.channel, reason, why, stored.messages, current.id, customer=customer
            )
            if written:
                summary, source = written, "model"
        return ConversationDetail(
            summary=summary,
            summary_source=source,
            conversation_id=conversation.id,
            channel=conversation.channel,
            state=conversation.state,
            route=conversation.route,
            created_at=conversation.created_at,
            messages=stored.messages,
            notes=stored.notes,
            escalations=stored.escalations,
            routes=[
                RouteStep(
                    message_id=t.inbound_message_id,
                    intent=t.intent,
                    route=t.route,
                    tier=t.tier,
                    confidence=t.confidence,
                    model=t.model,
                    outcome=t.outcome,
                    created_at=t.created_at,
                    sources=t.sources,
                    tool_calls=t.tool_calls,
                )
                for t in stored.turns
            ],
        )

    async def claim(self, conversation_id: str, staff: StaffMember) -> ConversationState:
        with structlog.contextvars.bound_contextvars(conversation_id=conversation_id, staff=staff.username):
            joined = self.notices.fill(self.notices.joined, staff)
            snapshot = await self._locked(conversation_id, lambda: self.store.claim(conversation_id, staff.id, joined))
            if not snapshot.changed:
                holder = snapshot.holder
                if snapshot.state is ConversationState.WITH_HUMAN and holder is not None:
                    if holder.id == staff.id:
                        return snapshot.state  # a repeated claim of one's own: nothing to do
                    raise HandoffConflict("already_claimed", f"{holder.display_name} claimed this conversation already.")
                raise HandoffConflict("not_waiting", "This conversation is not waiting for a person.")
            log.info("handoff_claimed")
            await self._state_changed(conversation_id, snapshot, staff)
            return snapshot.state

    async def take_over(self, conversation_id: str, staff: StaffMember) -> ConversationState:
        """An admin takes a conversation someone else holds (they went home, or it needs a lead)."""
        if staff.role is not StaffRole.ADMIN:
            raise HandoffForbidden("admins_only", "Only an admin can take over a conversation someone else holds.")
        with structlog.contextvars.bound_contextvars(conversation_id=conversation_id, staff=staff.username):
            joined = self.notices.fill(self.notices.joined, staff)
            snapshot = await self._locked(conversation_id, lambda: self.store.take_over(conversation_id, staff.id, joined))
            if not snapshot.changed:
                if snapshot.state is ConversationState.WAITING:
                    return await self.claim(conversation_id, staff)
                if snapshot.holder is not None and snapshot.holder.id == staff.id:
                    return snapshot.state
                raise HandoffConflict("not_claimed", "Nobody holds this conversation, so there is nothing to take over.")
            log.info("handoff_taken_over")
            await self._state_changed(conversation_id, snapshot, staff)
            return snapshot.state

    async def reply(
        self, conversation_id: str, staff: StaffMember, text: str, client_message_id: str | None = None
    ) -> StaffReply:
        text = checked_text(text, self.max_text_chars)
        with structlog.contextvars.bound_contextvars(conversation_id=conversation_id, staff=staff.username):
            async with self.locks.hold(conversation_id):
                result = await self.store.staff_message(
                    conversation_id, staff.id, staff.display_name, text, client_message_id
                )
            if result is None:
                raise _not_found(conversation_id)
            if result.message is None:
                raise _refusal(result.snapshot, staff, "reply")
            view = result.message
            if not result.duplicate:
                log.info("staff_replied", message_id=view.id)
                await self._publish_message(conversation_id, view)
            return StaffReply(view, result.snapshot.state, duplicate=result.duplicate)

    async def add_note(self, conversation_id: str, staff: StaffMember, text: str) -> NoteView:
        view = await self.store.add_note(conversation_id, staff.id, checked_text(text, self.max_text_chars))
        if view is None:
            raise _not_found(conversation_id)
        log.info("note_added", conversation_id=conversation_id, staff=staff.username)
        # Notes go to staff consoles only, never onto the customer's conversation topic.
        await self._publish_staff("note", conversation_id, {"note": view})
        return view

    async def resolve(self, conversation_id: str, staff: StaffMember) -> ConversationState:
        notice = self.notices.fill(self.notices.resolved, staff)
        return await self._release(conversation_id, staff, ConversationState.RESOLVED, RESOLVED, "resolve it", notice)

    async def hand_back(self, conversation_id: str, staff: StaffMember) -> ConversationState:
        notice = self.notices.fill(self.notices.handed_back, staff)
        return await self._release(conversation_id, staff, ConversationState.BOT, HANDED_BACK, "hand it back", notice)

    async def close(self, conversation_id: str, staff: StaffMember) -> ConversationState:
        """A waiting conversation nobody will answer (the customer has gone) goes back to the bot,
        without anyone claiming it first; the customer gets the `closed` notice, if any."""
        with structlog.contextvars.bound_contextvars(conversation_id=conversation_id, staff=staff.username):
            return await self._close(conversation_id, staff, self.notices.closed)

    async def withdraw(self, conversation_id: str) -> ConversationState:
        """The customer's channel cannot reach staff (the terminal): the escalation just made is
        closed at once and silently, so it never waits in the queue where nobody can answer it."""
        with structlog.contextvars.bound_contextvars(conversation_id=conversation_id):
            return await self._close(conversation_id, None, None)

    async def reopen(self, conversation_id: str, staff: StaffMember) -> ConversationState:
        with structlog.contextvars.bound_contextvars(conversation_id=conversation_id, staff=staff.username):
            joined = self.notices.fill(self.notices.joined, staff)
            snapshot = await self._locked(conversation_id, lambda: self.store.reopen(conversation_id, staff.id, joined))
            if not snapshot.changed:
                if snapshot.escalation is None:
                    raise HandoffConflict("not_escalated", "This conversation was never handed to a person.")
                raise HandoffConflict("not_resolved", "Only a resolved conversation can be reopened.")
            log.info("handoff_reopened")
            await self._state_changed(conversation_id, snapshot, staff)
            return snapshot.state

    async def notify_unclaimed(self, waited_s: float, unclaimed_text: str, after_hours_text: str, hours: BusinessHours | None) -> int:
        """Tell customers nobody has picked up within `waited_s` what is happening; once each.

        Out of hours nobody will pick up, so waiting customers are told that at once.
        """
        now = utcnow()
        closed = hours is not None and not hours.open_at(now)
        text = after_hours_text if closed else unclaimed_text
        told = 0
        for conversation_id in await self.store.unclaimed(now if closed else now - timedelta(seconds=waited_s)):
            async with self.locks.hold(conversation_id):
                message = await self.store.post_unclaimed_notice(conversation_id, text)
            if message is None:
                continue  # claimed (or told) in the meantime
            told += 1
            log.info("unclaimed_notice", conversation_id=conversation_id)
            await self._publish_message(conversation_id, message)
        return told

    def staff_events(self) -> EventStream:
        return self.bus.subscribe(STAFF_TOPIC)

    # -- helpers ------------------------------------------------------------------------

    async def _release(
        self,
        conversation_id: str,
        staff: StaffMember,
        state: ConversationState,
        status: str,
        action: str,
        notice: str | None,
    ) -> ConversationState:
        with structlog.contextvars.bound_contextvars(conversation_id=conversation_id, staff=staff.username):
            snapshot = await self._locked(
                conversation_id, lambda: self.store.release(conversation_id, staff.id, state, status, notice)
            )
            if not snapshot.changed:
                raise _refusal(snapshot, staff, action)
            log.info("handoff_released", state=state.value, status=status)
            await self._state_changed(conversation_id, snapshot, staff)
            return snapshot.state

    async def _close(self, conversation_id: str, staff: StaffMember | None, notice: str | None) -> ConversationState:
        snapshot = await self._locked(conversation_id, lambda: self.store.close_unclaimed(conversation_id, notice))
        if not snapshot.changed:
            if snapshot.state is ConversationState.WITH_HUMAN:
                raise HandoffConflict("already_claimed", "Someone has claimed this conversation: they can resolve it.")
            raise HandoffConflict("not_waiting", "Only a conversation waiting for a person can be closed.")
        log.info("handoff_closed")
        await self._state_changed(conversation_id, snapshot, staff)
        return snapshot.state

    async def _locked(self, conversation_id: str, change: Callable[[], Awaitable[Snapshot | None]]) -> Snapshot:
        """Run a state change in the conversation's turn order; a missing conversation is a 404."""
        async with self.locks.hold(conversation_id):
            snapshot = await change()
        if snapshot is None:
            raise _not_found(conversation_id)
        return snapshot

    async def _state_changed(self, conversation_id: str, snapshot: Snapshot, staff: StaffMember | None) -> None:
        state = snapshot.state
        if snapshot.notice is not None:
            await self._publish_message(conversation_id, snapshot.notice)
        await self._publish(conversation_id, "state", {"state": state})
        await self._publish_staff("queue", conversation_id, {"state": state, "claimed_by": snapshot.holder, "by": staff})

    async def _publish_message(self, conversation_id: str, message: MessageView) -> None:
        """A new message on the customer's page and in the staff console alike."""
        await self._publish(conversation_id, "message", {"message": message})
        await self._publish_staff("message", conversation_id, {"message": message})

    async def _publish(self, conversation_id: str, kind: str, data: dict[str, object]) -> None:
        await self.bus.publish(ConversationEvent(kind, conversation_id, data))

    async def _publish_staff(self, kind: str, conversation_id: str, data: dict[str, object]) -> None:
        await self.bus.publish(ConversationEvent(kind, STAFF_TOPIC, {"conversation_id": conversation_id, **data}))

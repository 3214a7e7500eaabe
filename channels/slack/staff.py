"""Staff in Slack: escalations in a staff channel, Claim / Resolve / Hand back buttons, answers in threads.

The staff channel is kept up to date by a poster that works from the store, not from events:
each pass asks what an escalation's post still lacks (the post itself, an update to its state,
the conversation's new messages mirrored into its thread) and does it, retrying with backoff
and honouring Slack's Retry-After. Events only wake it early. So a Slack outage or a restart
delays the staff channel, never leaves it wrong, and several server processes share the work.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

import structlog
from slack_sdk.web.async_client import AsyncWebClient

from agent.contracts import (
    HandoffError,
    HandoffService,
    InvalidMessage,
    StaffMember,
    StaffThread,
    utcnow,
)
from agent.tasks import BackgroundTasks
from channels.slack.blocks import CLAIM, HAND_BACK, RESOLVE, escalation_blocks, mirrored_text
from channels.slack.format import from_mrkdwn
from channels.slack.inbound import plain_text
from channels.slack.outbound import BotTokens, delivery_error

log = structlog.get_logger(__name__)

NOT_STAFF = (
    "Sorry, only Switchboard staff can act on customer conversations. "
    "Ask an admin to link your Slack account: `switchboard staff link-slack <username> <your Slack member id>`."
)


class StaffLedger(Protocol):
    """What the staff side keeps in the store (agent.store.slack.SlackStore)."""

    async def staff_for_slack_user(self, slack_user_id: str) -> StaffMember | None: ...

    async def conversation_for_thread(self, channel_id: str, ts: str) -> str | None: ...

    async def due(self, channel_id: str, limit: int = 20, lease_s: float = 60.0) -> list[StaffThread]: ...

    async def posted(self, thread_id: int, ts: str, shown: str, last_message_id: int) -> None: ...

    async def shown(self, thread_id: int, shown: str) -> None: ...

    async def mirrored(self, thread_id: int, message_id: int) -> None: ...

    async def settle(self, thread_id: int) -> None: ...

    async def retry(self, thread_id: int, at: datetime, error: str) -> None: ...


@dataclass(frozen=True, slots=True)
class StaffChannel:
    channel_id: str
    team_id: str  # whose bot token posts there
    poll_interval_s: float = 5.0
    lease_s: float = 60.0
    backoff_base_s: float = 1.0
    backoff_max_s: float = 300.0


class SlackStaff:
    def __init__(
        self,
        handoff: HandoffService,
        ledger: StaffLedger,
        client: AsyncWebClient,
        tokens: BotTokens,
        staff_channel: StaffChannel,
        background: BackgroundTasks,
    ) -> None:
        self.handoff = handoff
        self.ledger = ledger
        self.client = client
        self.tokens = tokens
        self.where = staff_channel
        self.background = background
        self._wake = asyncio.Event()

    @property
    def channel_id(self) -> str:
        return self.where.channel_id

    def wake(self) -> None:
        self._wake.set()

    # -- people acting in Slack -------------------------------------------------------------

    async def on_action(self, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient) -> None:
        user_id = (body.get("user") or {}).get("id")
        channel_id = (body.get("channel") or {}).get("id") or self.channel_id
        conversation_id = action.get("value")
        if not isinstance(user_id, str) or not isinstance(conversation_id, str):
            return
        with structlog.contextvars.bound_contextvars(conversation_id=conversation_id, slack_user=user_id):
            staff = await self.ledger.staff_for_slack_user(user_id)
            if staff is None:
                log.info("slack_action_refused", reason="not_staff")
                self._tell(client, channel_id, user_id, NOT_STAFF)
                return
            operation = {CLAIM: self.handoff.claim, RESOLVE: self.handoff.resolve, HAND_BACK: self.handoff.hand_back}
            try:
                await operation[action["action_id"]](conversation_id, staff)
            except HandoffError as exc:
                log.info("slack_action_refused", reason=exc.code)
                self._tell(client, channel_id, user_id, exc.message)
                return
            log.info("slack_action_done", action=action["action_id"], staff=staff.username)
            self.wake()

    async def on_thread_message(self, event: dict[str, Any], context: Any, client: AsyncWebClient) -> None:
        """A message in the staff channel: in an escalation's thread, a staff member's answer to the customer."""
        thread_ts, user_id, ts = event.get("thread_ts"), event.get("user"), event.get("ts")
        if event.get("bot_id") or event.get("subtype") is not None or not (thread_ts and user_id and ts):
            return
        conversation_id = await self.ledger.conversation_for_thread(self.channel_id, thread_ts)
        if conversation_id is None:
            return
        with structlog.contextvars.bound_contextvars(conversation_id=conversation_id, slack_user=user_id):
            staff = await self.ledger.staff_for_slack_user(user_id)
            if staff is None:
                self._tell(client, self.channel_id, user_id, NOT_STAFF, thread_ts)
                return
            # Stored as Markdown, like every answer: Slack's *bold* would otherwise reach a Slack customer as italics.
            text = from_mrkdwn(plain_text(str(event.get("text") or ""), context.get("bot_user_id")))
            if not text:
                return
            try:
                # The Slack ts makes a retried event the same reply, stored and sent once.
                await self.handoff.reply(conversation_id, staff, text, client_message_id=f"slack:{ts}")
            except HandoffError as exc:
                self._tell(client, self.channel_id, user_id, exc.message, thread_ts)
            except InvalidMessage as exc:
                self._tell(client, self.channel_id, user_id, f"Not sent: {exc}.", thread_ts)
            else:
                log.info("slack_staff_replied", staff=staff.username)

    def _tell(self, client: AsyncWebClient, channel_id: str, user_id: str, text: str, thread_ts: str | None = None) -> None:
        """An ephemeral note only that person sees; sent after the acknowledgement."""

        async def send() -> None:
            try:
                await client.chat_postEphemeral(channel=channel_id, user=user_id, text=text, thread_ts=thread_ts)
            except Exception as exc:  # noqa: BLE001 - a courtesy; the refusal itself already happened
                log.warning("slack_ephemeral_failed", error=str(exc))

        self.background.spawn(send(), "slack_ephemeral")

    # -- keeping the staff channel up to date ----------------------------------------------

    async def run(self) -> None:
        """Until cancelled: a pass whenever woken (a staff event) and every poll interval."""
        while True:
            try:
                await self.sync_once()
            except Exception:  # noqa: BLE001 - a database hiccup: the next pass tries again
                log.exception("slack_staff_pass_failed")
            # asyncio.timeout, not wait_for, which on 3.11 can swallow the cancel that stops this loop.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.where.poll_interval_s):
                    await self._wake.wait()
            self._wake.clear()

    async def follow(self) -> None:
        """Wake the poster on every staff event (new escalation, claim, message)."""
        events = self.handoff.staff_events()
        try:
            async for _event in events:
                self.wake()
        finally:
            await events.aclose()

    async def sync_once(self) -> int:
        threads = await self.ledger.due(self.channel_id, lease_s=self.where.lease_s)
        if not threads:
            return 0
        token = await self.tokens.for_team(self.where.team_id)
        for thread in threads:
            await self._sync(thread, token)
        return len(threads)

    async def _sync(self, thread: StaffThread, token: str | None) -> None:
        with structlog.contextvars.bound_contextvars(conversation_id=thread.conversation_id, escalation_id=thread.escalation_id):
            try:
                if token is None:
                    raise LookupError(f"no bot token for the staff workspace {self.where.team_id}")
                ts = thread.ts
                if ts is None:
                    text, blocks = escalation_blocks(await self.handoff.detail(thread.conversation_id), thread.status, thread.holder)
                    response = await self.client.chat_postMessage(token=token, channel=self.channel_id, text=text, blocks=blocks)
                    ts = str(response["ts"])
                    await self.ledger.posted(thread.id, ts, thread.wanted, thread.latest_message_id)
                    log.info("slack_escalation_posted", ts=ts)
                elif thread.shown != thread.wanted:
                    text, blocks = escalation_blocks(await self.handoff.detail(thread.conversation_id), thread.status, thread.holder)
                    await self.client.chat_update(token=token, channel=self.channel_id, ts=ts, text=text, blocks=blocks)
                    await self.ledger.shown(thread.id, thread.wanted)
                    log.info("slack_escalation_updated", status=thread.status)
                for message in thread.pending:
                    await self.client.chat_postMessage(
                        token=token, channel=self.channel_id, thread_ts=ts, text=mirrored_text(message)
                    )
                    await self.ledger.mirrored(thread.id, message.id)
                await self.ledger.settle(thread.id)
            except Exception as exc:  # noqa: BLE001 - every failure is retried later, none stops the others
                await self._failed(thread, exc)

    async def _failed(self, thread: StaffThread, exc: Exception) -> None:
        try:
            error = delivery_error(exc)
            reason, retry_after = error.reason, error.retry_after
        except Exception:  # noqa: BLE001 - not a Slack failure (a bug, the database): still retried
            reason, retry_after = f"{type(exc).__name__}: {exc}", None
            log.exception("slack_staff_sync_crashed")
        attempt = thread.attempts + 1
        ceiling = min(self.where.backoff_max_s, self.where.backoff_base_s * 2 ** (attempt - 1))
        delay = random.uniform(ceiling / 2, ceiling)
        delay = max(delay, retry_after) if retry_after is not None else delay
        await self.ledger.retry(thread.id, utcnow() + timedelta(seconds=delay), reason)
        log.warning("slack_staff_sync_retry", attempt=attempt, reason=reason, retry_in_s=round(delay, 3))


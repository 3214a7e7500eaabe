"""Answering messages that were stored but never answered: the process stopped in between.

At start-up, before the server takes a request, every such message takes its place in its
conversation's line, so it is answered before anything the customer writes next. The backlog is
then answered oldest first per conversation, several conversations at once. A sweep does the same
later for messages another process left behind (older than any turn still running anywhere).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Collection
from dataclasses import dataclass
from datetime import timedelta

import structlog

from agent.contracts import utcnow
from agent.conversation import ConversationManager, PendingMessage
from agent.tasks import BackgroundTasks

log = structlog.get_logger(__name__)

# Each sweep looks a little further back than the last one ended: clocks and commits are not exact.
SWEEP_OVERLAP_S = 60.0


@dataclass(frozen=True, slots=True)
class RecoveryPolicy:
    channels: frozenset[str]  # where a late answer still reaches the customer
    max_age_s: float = 3600.0
    orphaned_after_s: float = 60.0
    concurrency: int = 8


class Recovery:
    def __init__(self, manager: ConversationManager, policy: RecoveryPolicy) -> None:
        self.manager = manager
        self.policy = policy
        self._swept_until = utcnow()

    async def queue_backlog(self) -> list[PendingMessage]:
        """Every unanswered message, in line; call before serving requests."""
        self._swept_until = utcnow()
        backlog = await self.manager.queue_unanswered(self.policy.channels, self._swept_until)
        if backlog:
            log.warning("unanswered_messages_found", count=len(backlog))
        return backlog

    async def answer(self, backlog: Collection[PendingMessage]) -> int:
        """Answer each, in order within a conversation; returns how many were answered."""
        by_conversation: dict[str, list[PendingMessage]] = {}
        for pending in backlog:
            by_conversation.setdefault(pending.conversation.id, []).append(pending)
        slots = asyncio.Semaphore(self.policy.concurrency)
        answered = 0

        async def one_conversation(line: list[PendingMessage]) -> None:
            nonlocal answered
            try:
                async with slots:
                    for pending in line:
                        try:
                            await self.manager.answer_pending(pending, self.policy.max_age_s)
                            answered += 1
                        except Exception:  # one broken turn must not leave the rest unanswered
                            log.exception("unanswered_message_failed", conversation_id=pending.conversation.id)
            finally:
                for pending in line:  # places not reached (shutdown) free the line at once
                    await pending.place.leave()

        await asyncio.gather(*(one_conversation(line) for line in by_conversation.values()))
        return answered

    async def run(self, backlog: Collection[PendingMessage]) -> None:
        """Answer the start-up backlog, then sweep for other processes' leftovers now and then."""
        if backlog:
            count = await self.answer(backlog)
            log.info("unanswered_messages_answered", count=count)
        while True:
            await asyncio.sleep(max(5.0, self.policy.orphaned_after_s / 2))
            until = utcnow() - timedelta(seconds=self.policy.orphaned_after_s)
            # From where the last look ended (start-up looked at everything before it).
            since = min(self._swept_until, until) - timedelta(seconds=SWEEP_OVERLAP_S)
            try:
                found = await self.manager.queue_unanswered(self.policy.channels, until, since)
            except Exception:  # noqa: BLE001 - the database may be briefly away; look again next time
                log.exception("unanswered_sweep_failed")
                continue
            self._swept_until = max(self._swept_until, until)
            if found:
                log.warning("unanswered_messages_found", count=len(found), sweep=True)
                await self.answer(found)

    def context(self) -> Callable[[object], AsyncIterator[None]]:
        """A cleanup context for the server: the backlog in line before start-up ends, answered after."""

        async def context(_app: object) -> AsyncIterator[None]:
            backlog = await self.queue_backlog()
            tasks = BackgroundTasks("recovery")
            tasks.spawn(self.run(backlog), "recovery")
            yield
            await tasks.close()

        return context

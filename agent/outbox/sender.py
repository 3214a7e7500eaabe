"""Sends what the outbox holds through each channel's sender, retrying with backoff.

At-least-once: a row is marked sent only after its channel accepted it, and a sender that
dies mid-send leaves a lease that runs out, so the row goes again.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

import structlog

from agent.contracts import DeliveryError, OutboundChannel, OutboundMessage, utcnow
from agent.store.bell import OutboxBell

if TYPE_CHECKING:
    # Only for the annotations: the sender is handed what to send, the composition root hands it the store.
    from agent.store.outbox import OutboxStore

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class DeliveryPolicy:
    poll_interval_s: float = 1.0
    batch_size: int = 20
    lease_s: float = 60.0
    max_attempts: int = 10
    backoff_base_s: float = 1.0
    backoff_max_s: float = 300.0

    def backoff(self, attempt: int, retry_after: float | None) -> float:
        """Exponential with full jitter; a provider's Retry-After is a floor, never shortened."""
        ceiling = min(self.backoff_max_s, self.backoff_base_s * 2 ** (attempt - 1))
        delay = random.uniform(ceiling / 2, ceiling)
        return max(delay, retry_after) if retry_after is not None else delay


class OutboxSender:
    def __init__(
        self,
        store: OutboxStore,
        channels: Mapping[str, OutboundChannel],
        policy: DeliveryPolicy = DeliveryPolicy(),
        bell: OutboxBell | None = None,
    ) -> None:
        self.store = store
        self.channels = channels
        self.policy = policy
        self.bell = bell or OutboxBell()

    async def run(self) -> None:
        """Send until cancelled: whenever rung, and every poll interval (for retries and other processes' rows)."""
        while True:
            try:
                # Again while anything went: a conversation's next row becomes due once its
                # older one is sent, and must not wait for the next poll.
                while await self.send_due() > 0:
                    pass
            except Exception:  # noqa: BLE001 - a database hiccup must not stop delivery for good
                log.exception("outbox_pass_failed")
            await self.bell.wait(self.policy.poll_interval_s)

    async def send_due(self) -> int:
        """One pass: claim what is due and send it; returns how many rows were claimed."""
        claimed = await self.store.claim_due(self.policy.batch_size, self.policy.lease_s)
        # Rows of different conversations go out side by side; each conversation has at most one here.
        await asyncio.gather(*(self._send(outbound) for outbound in claimed))
        return len(claimed)

    async def _send(self, outbound: OutboundMessage) -> None:
        outbox_id, attempt = outbound.outbox_id, outbound.attempt
        with structlog.contextvars.bound_contextvars(
            conversation_id=outbound.conversation_id, message_id=outbound.message.id, channel=outbound.channel
        ):
            channel = self.channels.get(outbound.channel)
            if channel is None:
                await self.store.mark_failed(outbox_id, attempt, f"no sender for channel {outbound.channel!r}")
                log.error("outbox_no_sender")
                return
            try:
                provider_id = await channel.send(outbound)
            except DeliveryError as exc:
                await self._failed(outbox_id, attempt, exc)
            except Exception as exc:  # noqa: BLE001 - a sender's bug is one failed attempt, not a dead loop
                log.exception("outbox_sender_crashed")
                await self._failed(outbox_id, attempt, DeliveryError(f"{type(exc).__name__}: {exc}"))
            else:
                if await self.store.mark_sent(outbox_id, attempt, provider_id):
                    log.info("outbox_sent", attempt=attempt, provider_message_id=provider_id)
                else:
                    log.warning("outbox_lease_lost", attempt=attempt, provider_message_id=provider_id)

    async def _failed(self, outbox_id: int, attempt: int, error: DeliveryError) -> None:
        if error.permanent or attempt >= self.policy.max_attempts:
            await self.store.mark_failed(outbox_id, attempt, error.reason)
            log.error("outbox_gave_up", attempt=attempt, reason=error.reason, permanent=error.permanent)
            return
        delay = self.policy.backoff(attempt, error.retry_after)
        await self.store.retry_at(outbox_id, attempt, utcnow() + timedelta(seconds=delay), error.reason)
        log.warning("outbox_retry", attempt=attempt, reason=error.reason, retry_in_s=round(delay, 3))

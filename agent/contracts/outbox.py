"""The outbox contract: what an asynchronous channel is given to send, and how it says it failed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from agent.contracts.channel import MessageView


@dataclass(frozen=True, slots=True)
class OutboundMessage:
    """A stored message owed to a customer, as the outbox hands it to a channel's sender."""

    outbox_id: int
    conversation_id: str
    channel: str
    conversation_key: str
    channel_user_id: str
    message: MessageView
    attempt: int  # 1 on the first try
    # The channel's id of the customer message this one answers, for channels that thread replies.
    in_reply_to: str | None = None


class DeliveryError(Exception):
    """A channel could not deliver; the outbox retries unless `permanent`.

    `retry_after` (seconds) is the provider's own hint (Retry-After) and wins over backoff.
    """

    def __init__(self, reason: str, *, retry_after: float | None = None, permanent: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after
        self.permanent = permanent


class OutboundChannel(Protocol):
    """Sends stored messages to customers on one channel (answers, staff replies, notices)."""

    name: str

    async def send(self, message: OutboundMessage) -> str | None:
        """Deliver it; return the provider's id for it, or raise DeliveryError."""
        ...


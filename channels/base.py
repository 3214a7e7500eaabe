"""What every channel shares: the outbound interface the outbox delivers through."""

from __future__ import annotations

from agent.contracts import DeliveryError, OutboundChannel, OutboundMessage

__all__ = ["DeliveryError", "OutboundChannel", "OutboundMessage"]

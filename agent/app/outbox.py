"""Part of the composition root: the channels the outbox sends to, and its sender."""

from __future__ import annotations

from dataclasses import dataclass, field

from agent.app.channels import named
from agent.contracts import OutboundChannel
from agent.outbox.sender import DeliveryPolicy, OutboxSender
from agent.settings import Settings
from agent.store import Database
from agent.store.outbox import OutboxBell, OutboxStore


@dataclass(frozen=True, slots=True)
class OutboxChannels:
    """Channels that are sent to through the outbox, with how long each holds a turn's reply for inline delivery."""

    channels: dict[str, OutboundChannel] = field(default_factory=dict)
    holds: dict[str, float] = field(default_factory=dict)

    def add(self, channel: OutboundChannel, inline_hold_s: float = 0.0) -> None:
        self.channels[channel.name] = channel
        self.holds[channel.name] = inline_hold_s


def build_outbox_sender(settings: Settings, database: Database, outbox_channels: OutboxChannels, bell: OutboxBell) -> OutboxSender:
    o = settings.outbox
    policy = DeliveryPolicy(
        poll_interval_s=o.poll_interval_s,
        lease_s=o.lease_s,
        max_attempts=o.max_attempts,
        backoff_base_s=o.backoff_base_s,
        backoff_max_s=o.backoff_max_s,
    )
    store = OutboxStore(database, bell, threaded_channels=named("threads"))
    return OutboxSender(store, outbox_channels.channels, policy, bell)

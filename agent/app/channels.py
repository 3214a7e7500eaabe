"""Part of the composition root: every channel's declared traits, by channel name."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from agent.contracts import ChannelTraits
from agent.settings import Settings
from channels import terminal
from channels.slack import outbound as slack
from channels.twilio.sms import inbound as sms
from channels.twilio.voice import inbound as voice
from channels.webchat import inbound as webchat

CHANNELS: Mapping[str, ChannelTraits] = {
    traits.name: traits for traits in (webchat.TRAITS, slack.TRAITS, sms.TRAITS, voice.TRAITS, terminal.TRAITS)
}


def deployed(settings: Settings) -> Mapping[str, ChannelTraits]:
    """Every channel's traits as this deployment has them: the declared ones, but for the wait
    for an SMS answer sent inline, which is a setting."""
    sms_traits = replace(sms.TRAITS, inline_answer_s=settings.twilio.sms.inline_deadline_s)
    return {**CHANNELS, sms_traits.name: sms_traits}


def named(test: str) -> frozenset[str]:
    """The channels whose trait `test` (a ChannelTraits field name) is true."""
    return frozenset(name for name, traits in CHANNELS.items() if getattr(traits, test))


def unreachable() -> frozenset[str]:
    """Channels a customer cannot be reached on after their request: no notices, nothing recovered."""
    return frozenset(CHANNELS) - named("pushable")

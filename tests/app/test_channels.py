"""Channel traits: each channel declares what it is once, and the composition root reads them by name."""

from __future__ import annotations

from agent.app.channels import CHANNELS, named, unreachable
from agent.contracts import ChannelTraits, traits_of
from personas import load_persona


def test_every_served_channel_declares_its_traits() -> None:
    assert set(CHANNELS) == {"web", "slack", "sms", "voice", "cli"}
    assert all(name == traits.name for name, traits in CHANNELS.items())


def test_each_style_is_one_the_persona_writes_for() -> None:
    persona = load_persona("demo")
    assert {traits.style for traits in CHANNELS.values()} <= set(persona.channels)


def test_what_each_part_reads() -> None:
    assert named("streams") == {"web", "voice"}
    assert named("threads") == {"slack"}
    assert named("splits_long_answers") == {"slack"}
    # Recovery answers on these; handoff notices stay silent on the rest.
    assert named("pushable") == {"web", "slack", "sms"}
    assert unreachable() == {"voice", "cli"}


def test_an_undeclared_channel_is_styled_by_its_name() -> None:
    assert traits_of(CHANNELS, "fax") == ChannelTraits("fax", style="fax")
    assert traits_of(CHANNELS, "cli").style == "web"

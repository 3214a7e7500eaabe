"""Channel traits: each channel declares what it is once, and the composition root reads them by name."""

from __future__ import annotations

from agent.app.channels import CHANNELS, deployed, named, unreachable
from agent.contracts import ChannelTraits, traits_of
from personas import load_persona
from tests.conftest import SettingsFactory


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


def test_only_sms_answers_in_its_own_response_for_as_long_as_the_deployment_says(make_settings: SettingsFactory) -> None:
    assert {name for name, traits in CHANNELS.items() if traits.inline_answer_s} == {"sms"}
    shipped = deployed(make_settings())
    assert shipped["sms"].inline_answer_s == CHANNELS["sms"].inline_answer_s == 5.0
    quick = deployed(make_settings(twilio={"sms": {"inline_deadline_s": 2.5}}))
    assert quick["sms"].inline_answer_s == 2.5
    assert {name: traits for name, traits in quick.items() if name != "sms"} == {n: t for n, t in CHANNELS.items() if n != "sms"}

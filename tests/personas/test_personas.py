"""Every shipped persona loads, and renders one prompt per route and channel."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from personas import Persona, PersonaError, available_personas, fit_to_channel, load_persona, system_prompt
from personas.persona import PERSONAS_DIR


@pytest.mark.parametrize("persona_id", available_personas())
def test_shipped_personas_load(persona_id: str) -> None:
    persona = load_persona(persona_id)
    assert persona.id == persona_id
    for route in ("support", "sales", "lookup"):
        assert route in persona.routes
    for channel in ("web", "slack", "sms", "voice"):
        assert persona.style_for(channel) is not None


def test_the_prompt_carries_voice_rules_route_and_channel() -> None:
    persona = load_persona("demo")
    prompt = system_prompt(persona, "support", "sms")
    assert persona.name in prompt and persona.voice in prompt
    assert all(rule in prompt for rule in persona.dont)
    assert persona.routes["support"] in prompt
    assert persona.channels["sms"].style in prompt
    assert system_prompt(persona, "sales", "sms") != prompt
    assert system_prompt(persona, "support", "voice") != prompt


def test_answers_are_fitted_to_the_channel_at_a_sentence() -> None:
    persona = load_persona("demo")
    limit = persona.channels["sms"].max_chars
    assert limit is not None
    long = " ".join(f"Sentence number {i} says something useful." for i in range(40))
    fitted = fit_to_channel(persona, "sms", long)
    assert len(fitted) <= limit and fitted.endswith(".")
    assert fit_to_channel(persona, "sms", "Short.") == "Short."


def test_a_broken_persona_file_names_the_problem(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("id: broken\nname: X\n")
    with pytest.raises(PersonaError, match="greeting"):
        load_persona(str(path))


@pytest.mark.parametrize("persona_id", available_personas())
def test_the_slack_style_asks_for_markdown_which_the_channel_converts(persona_id: str) -> None:
    style = load_persona(persona_id).style_for("slack")
    assert style is not None
    # Slack's own *bold* would be read as Markdown italics on the way out.
    assert "**bold**" in style.style and "*bold*" not in style.style.replace("**bold**", "")


def test_renaming_the_persona_renames_it_in_every_text(tmp_path: Path) -> None:
    shipped = (PERSONAS_DIR / "demo.yaml").read_text()
    data = yaml.safe_load(shipped)
    original = data["name"]
    data["name"] = "Robin"
    path = tmp_path / "renamed.yaml"
    path.write_text(yaml.safe_dump(data))

    renamed = load_persona(str(path))
    every_text = yaml.safe_dump(renamed.model_dump())
    assert original not in every_text and "{name}" not in every_text
    for text in (renamed.greeting, renamed.handed_back, renamed.help, renamed.resubscribed, renamed.voice, renamed.identity):
        assert "Robin" in text
    assert any("Robin" in rule for rule in renamed.dont)
    prompt = system_prompt(renamed, "support", "web")
    assert original not in prompt and "{name}" not in prompt
    assert "{staff}" in renamed.staff_joined  # the other placeholder is left for its own time


def test_a_persona_built_in_code_fills_in_its_name_too() -> None:
    persona = load_persona("demo").model_copy()
    built = Persona.model_validate({**persona.model_dump(), "name": "Kit", "greeting": "Hi, I'm {name}."})
    assert built.greeting == "Hi, I'm Kit."

"""A persona: who the bot is, how it speaks, and its fixed wording, read from a YAML file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

PERSONAS_DIR = Path(__file__).resolve().parent
# Stands for the persona's name in its texts, so renaming the persona renames it everywhere.
NAME = "{name}"


class ChannelStyle(BaseModel):
    model_config = ConfigDict(extra="forbid")

    style: str
    max_chars: int | None = Field(default=None, gt=0)


def _named(value: Any, name: str) -> Any:
    if isinstance(value, str):
        return value.replace(NAME, name)
    if isinstance(value, list):
        return [_named(item, name) for item in value]
    if isinstance(value, dict):
        return {key: _named(item, name) for key, item in value.items()}
    if isinstance(value, BaseModel):
        return value.model_copy(update={key: _named(item, name) for key, item in value})
    return value


class Persona(BaseModel):
    """Every text but `name` itself may say `{name}`; it is filled in when the persona is read."""

    model_config = ConfigDict(extra="forbid")

    id: str
    name: str
    business: str
    description: str = ""
    voice: str
    do: list[str] = []
    dont: list[str] = []
    greeting: str
    apology: str
    escalation: str
    waiting: str
    help: str
    fallback: str
    unclaimed: str = (
        "Sorry for the wait: everyone on our team is busy right now. If you'd rather not wait, "
        "leave your email or phone number here and we'll get back to you."
    )
    after_hours: str = (
        "Our team is away right now. Leave your email or phone number here and a person will get "
        "back to you as soon as we're open; your messages are kept."
    )
    clarify: str = "Sorry, I didn't quite follow. Could you say a little more about what you need?"
    # The answer to "are you a bot?" / "am I talking to a real person?": honest, and a person is one ask away.
    identity: str = "I'm {name}, a virtual assistant, not a person. If you'd like to talk to someone from our team, just ask."
    # Told to the customer as a person takes, resolves or hands back the conversation; `{staff}`
    # is that person's name. Empty says nothing.
    staff_joined: str = "{staff} from our team has joined and will reply here."
    staff_resolved: str = "{staff} has marked this as resolved. If you need anything else, just write here."
    handed_back: str = "You're back with our assistant. Ask for a person again any time."
    # To a message that waited too long to be answered (the service was down): a person follows up.
    missed: str = (
        "Sorry, your message reached us while our service was down and we couldn't answer it in time. "
        "I've passed your conversation to our team, and a person will follow up here."
    )
    # Told when staff close a request for a person nobody took up (the customer seemed gone).
    closed: str = "We've closed your request for a person. If you still need help, write here and ask again any time."
    # Said (best effort) when a message cannot be taken: a file with no text, or too long a message.
    no_text: str = "I can only read text for now. Could you type your question instead?"
    too_long: str = "That message is too long for me to take in one go. Could you send it in shorter parts?"
    # The SMS answer to START after an opt-out.
    resubscribed: str = "You're subscribed again and can message us here. Reply HELP for help, STOP to opt out."
    routes: dict[str, str] = {}
    channels: dict[str, ChannelStyle] = {}

    @model_validator(mode="after")
    def _fill_in_name(self) -> Persona:
        for field, value in self:
            if field != "name":
                setattr(self, field, _named(value, self.name))
        return self

    def style_for(self, channel: str) -> ChannelStyle | None:
        return self.channels.get(channel)


class PersonaError(ValueError):
    pass


def persona_path(ref: str) -> Path:
    """`ref` is a persona id (a file in personas/) or a path to a YAML file."""
    path = Path(ref)
    if path.suffix in {".yaml", ".yml"}:
        return path
    return PERSONAS_DIR / f"{ref}.yaml"


def load_persona(ref: str) -> Persona:
    path = persona_path(ref)
    try:
        data = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise PersonaError(f"persona {ref!r}: cannot read {path}: {exc.strerror}") from exc
    try:
        return Persona.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise PersonaError(f"persona {path}: {problems}") from exc


def available_personas() -> list[str]:
    return sorted(p.stem for p in PERSONAS_DIR.glob("*.yaml"))

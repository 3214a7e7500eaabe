"""A persona: who the bot is, how it speaks, and its fixed wording, read from a YAML file."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

PERSONAS_DIR = Path(__file__).resolve().parent


class ChannelStyle(BaseModel):
    model_config = ConfigDict(extra="forbid")

    style: str
    max_chars: int | None = Field(default=None, gt=0)


class Persona(BaseModel):
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
    # Said (best effort) when a message cannot be taken: a file with no text, or too long a message.
    no_text: str = "I can only read text for now. Could you type your question instead?"
    too_long: str = "That message is too long for me to take in one go. Could you send it in shorter parts?"
    # The SMS answer to START after an opt-out.
    resubscribed: str = "You're subscribed again and can message us here. Reply HELP for help, STOP to opt out."
    routes: dict[str, str] = {}
    channels: dict[str, ChannelStyle] = {}

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

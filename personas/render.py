"""Rendering a persona into the system prompt every model sees, for one route and channel."""

from __future__ import annotations

from collections.abc import Callable

from personas.persona import Persona
from personas.plain import to_plain_text
from personas.speech import complete_sentences, to_speech

# Channels whose answers are rewritten before they are trimmed: no markup on SMS, speech on calls.
RENDERERS: dict[str, Callable[[str], str]] = {"sms": to_plain_text, "voice": to_speech}


def system_prompt(persona: Persona, route: str, channel: str) -> str:
    lines = [
        f"You are {persona.name}, the customer assistant of {persona.business}. {persona.description}".strip(),
        f"Voice: {persona.voice}",
    ]
    if persona.do:
        lines.append("Always:\n" + "\n".join(f"- {rule}" for rule in persona.do))
    if persona.dont:
        lines.append("Never:\n" + "\n".join(f"- {rule}" for rule in persona.dont))
    if route in persona.routes:
        lines.append(f"This conversation is about {route}: {persona.routes[route]}")
    style = persona.style_for(channel)
    if style:
        limit = f" Keep the answer under {style.max_chars} characters." if style.max_chars else ""
        lines.append(f"Channel: {channel}. Format: {style.style}.{limit}")
    lines.append(f"If the customer asks whether you are a bot or a person, answer: {persona.identity}")
    lines.append(
        "If you cannot help or the customer asks for a person, say so honestly: "
        f"{persona.escalation}"
    )
    return "\n\n".join(lines)


def fit_to_channel(persona: Persona, channel: str, text: str, splits_long_answers: bool = False) -> str:
    """Render an answer for the channel style, then trim it to its length budget at a sentence
    boundary where possible. A channel that sends a long answer as several messages keeps it
    whole: its budget guides the model in the prompt, but cutting would lose what the split sends."""
    render = RENDERERS.get(channel)
    if render is not None:
        text = render(text)
    style = persona.style_for(channel)
    if splits_long_answers or not style or not style.max_chars or len(text) <= style.max_chars:
        return text
    budget = style.max_chars - 1
    cut = text[:budget]
    boundary = max(cut.rfind(". "), cut.rfind("! "), cut.rfind("? "), cut.rfind("\n"))
    if boundary > budget // 2:
        return cut[: boundary + 1].rstrip()
    # "…" is not in SMS's GSM-7 alphabet: it alone would halve what fits in a segment.
    ellipsis = "..." if channel == "sms" else "…"
    return cut[: cut.rfind(" ")].rstrip() + ellipsis if " " in cut else cut + ellipsis


class StreamedAnswer:
    """The pieces of an answer shown while it is written, as the channel style takes them.

    Speech gets whole sentences, rendered to be spoken (no URLs, order ids read digit by digit):
    a voice must never read out markup it cannot take back. Other styles get each piece as is.
    """

    def __init__(self, style: str) -> None:
        self.spoken = style == "voice"
        self.unfinished = ""

    def piece(self, text: str) -> str:
        """What to show now of `text`, the next piece the model wrote ("" for nothing yet)."""
        if not self.spoken:
            return text
        ready, self.unfinished = complete_sentences(self.unfinished + text)
        return to_speech(ready) + " " if ready else ""

    def reset(self) -> None:
        """The model broke off: what was held back is dropped with what was shown."""
        self.unfinished = ""

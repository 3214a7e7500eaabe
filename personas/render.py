"""Rendering a persona into the system prompt every model sees, for one route and channel."""

from __future__ import annotations

from personas.persona import Persona


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
    lines.append(
        "If you cannot help or the customer asks for a person, say so honestly: "
        f"{persona.escalation}"
    )
    return "\n\n".join(lines)


def fit_to_channel(persona: Persona, channel: str, text: str) -> str:
    """Trim an answer to the channel's length budget at a sentence boundary where possible."""
    style = persona.style_for(channel)
    if not style or not style.max_chars or len(text) <= style.max_chars:
        return text
    budget = style.max_chars - 1
    cut = text[:budget]
    boundary = max(cut.rfind(". "), cut.rfind("! "), cut.rfind("? "), cut.rfind("\n"))
    if boundary > budget // 2:
        return cut[: boundary + 1].rstrip()
    return cut[: cut.rfind(" ")].rstrip() + "…" if " " in cut else cut + "…"

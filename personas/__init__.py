"""Persona definitions and their rendering per route and channel."""

from personas.persona import (
    ChannelStyle,
    Persona,
    PersonaError,
    available_personas,
    load_persona,
)
from personas.plain import to_plain_text
from personas.render import StreamedAnswer, fit_to_channel, system_prompt
from personas.speech import complete_sentences, to_speech

__all__ = [
    "ChannelStyle",
    "Persona",
    "PersonaError",
    "StreamedAnswer",
    "available_personas",
    "complete_sentences",
    "fit_to_channel",
    "load_persona",
    "system_prompt",
    "to_plain_text",
    "to_speech",
]

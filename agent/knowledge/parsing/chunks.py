"""Sections cut into chunks a search can return whole: a long section splits at paragraphs, then
lines (list items, table rows), then sentences; only a sentence longer than a chunk is wrapped,
and then at a word."""

from __future__ import annotations

import re
import textwrap
from collections.abc import Callable, Iterable

from agent.contracts.knowledge import ChunkRecord
from agent.knowledge.parsing.blocks import Section
from agent.text import is_blank

CHUNK_CHARS = 1000

# A sentence ends at . ! ? (and any closing quote or bracket) before whitespace; "e.g. the" goes on.
_SENTENCE_END = re.compile(r"[.!?…]+[\"'”’»)\]]*\s+")


def chunks_of(sections: Iterable[Section], cap: int = CHUNK_CHARS) -> tuple[ChunkRecord, ...]:
    """Each section's pieces, in order, every one with its section's path; ordinals 0..n-1."""
    records: list[ChunkRecord] = []
    for section in sections:
        for piece in pieces("\n\n".join(section.paragraphs), cap):
            records.append(ChunkRecord(ordinal=len(records), section=section.path, text=piece))
    return tuple(records)


def pieces(text: str, cap: int = CHUNK_CHARS) -> list[str]:
    """`text` in pieces of at most `cap` characters, each as many whole units as fit."""
    # A run of invisible characters can fill a hard-wrapped piece on its own: no chunk for it.
    return [piece for piece in _split(text.strip(), cap, 0) if not is_blank(piece)]


def _paragraphs(text: str) -> list[str]:
    return [part.strip() for part in re.split(r"\n[ \t]*\n", text) if not is_blank(part)]


def _lines(text: str) -> list[str]:
    return [line.rstrip() for line in text.split("\n") if not is_blank(line)]


def _sentences(text: str) -> list[str]:
    parts, start = [], 0
    for end in _SENTENCE_END.finditer(text):
        following = text[end.end() : end.end() + 1]
        if following and not following.islower():
            parts.append(text[start : end.end()].strip())
            start = end.end()
    parts.append(text[start:].strip())
    return [part for part in parts if not is_blank(part)]


# Coarsest first: each unit is only broken into the next when it is over the cap on its own.
_LEVELS: tuple[tuple[Callable[[str], list[str]], str], ...] = (
    (_paragraphs, "\n\n"),
    (_lines, "\n"),
    (_sentences, " "),
)


def _split(text: str, cap: int, level: int) -> list[str]:
    if len(text) <= cap:
        return [text]
    if level == len(_LEVELS):
        return textwrap.wrap(text, cap, break_long_words=True, break_on_hyphens=False)
    split, joiner = _LEVELS[level]
    out: list[str] = []
    current = ""
    for part in split(text):
        if len(part) > cap:
            if current:
                out.append(current)
                current = ""
            out.extend(_split(part, cap, level + 1))
        elif not current:
            current = part
        elif len(current) + len(joiner) + len(part) <= cap:
            current += joiner + part
        else:
            out.append(current)
            current = part
    if current:
        out.append(current)
    return out

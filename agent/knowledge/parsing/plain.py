"""Plain text: a short first line is its title, blank lines part its paragraphs."""

from __future__ import annotations

import re

from agent.knowledge.parsing.blocks import Parsed, Section, collapsed, humanized
from agent.knowledge.parsing.chunks import chunks_of
from agent.text import is_blank

TITLE_CHARS = 80
# A line that starts a list item keeps its own line; any other is a wrapped line of the paragraph.
_LIST_ITEM = re.compile(r"\s*(?:[-*+•]|\d{1,9}[.)])\s")


def parse_plain(text: str, stem: str) -> Parsed:
    paras = paragraphs(text)
    first_line = next((line for line in map(collapsed, text.split("\n")) if line), "")
    if not first_line or len(first_line) > TITLE_CHARS:
        return Parsed(title=humanized(stem), chunks=chunks_of([Section((), tuple(paras))]))
    # A title line standing alone is a heading, not text; one that runs into its paragraph stays in it.
    if len(paras) > 1 and paras[0] == first_line:
        paras = paras[1:]
    return Parsed(title=first_line, chunks=chunks_of([Section((), tuple(paras))]))


def paragraphs(text: str) -> list[str]:
    """`text` by blank lines, each paragraph's wrapped lines joined and its list items kept apart."""
    found = []
    for block in re.split(r"\n[ \t\f\v]*\n", text):
        lines: list[str] = []
        for line in block.split("\n"):
            if is_blank(line):
                continue
            if lines and not _LIST_ITEM.match(line):
                lines[-1] += " " + line.strip()
            else:
                lines.append(line.strip())
        if lines:
            found.append("\n".join(collapsed(line) for line in lines))
    return found

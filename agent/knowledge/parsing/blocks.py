"""What every format is read into before chunking: headings and paragraphs, in document order,
then sections, each with the heading path down to it."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from agent.contracts.knowledge import ChunkRecord
from agent.text import is_blank

_SPACE = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class Heading:
    level: int  # 1 for h1 / "#", down to 6
    text: str


@dataclass(frozen=True, slots=True)
class Paragraph:
    text: str  # lines (list items, table rows, code) joined by "\n"


Block = Heading | Paragraph


@dataclass(frozen=True, slots=True)
class Section:
    path: tuple[str, ...]
    paragraphs: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Parsed:
    """A format's reading of a file: all a DocumentRecord needs but where it came from."""

    title: str
    chunks: tuple[ChunkRecord, ...]
    url: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


def collapsed(text: str) -> str:
    """`text` on one line, single-spaced; "" when nothing in it shows (zero-width and braille blanks too)."""
    text = _SPACE.sub(" ", text).strip()
    return "" if is_blank(text) else text


def humanized(stem: str) -> str:
    """A file stem as a title: "shipping-faq" -> "Shipping Faq"; letters already capital stay so."""
    words = collapsed(re.sub(r"[-_.]+", " ", stem)).split(" ")
    return " ".join(word[:1].upper() + word[1:] for word in words) or "Untitled"


def title_heading(blocks: Sequence[Block]) -> Heading | None:
    """The heading a document is titled by: its first, when no later heading is at its level or above.

    It names the whole document, so the sections below it do not repeat it in their paths."""
    headings = [block for block in blocks if isinstance(block, Heading)]
    if headings and all(later.level > headings[0].level for later in headings[1:]):
        return headings[0]
    return None


def sections_of(blocks: Iterable[Block], title: Heading | None = None) -> list[Section]:
    """Paragraphs grouped under the heading path in force where they stand; headings alone give nothing."""
    sections: list[Section] = []
    stack: list[Heading] = []
    paragraphs: list[str] = []

    def close() -> None:
        if paragraphs:
            sections.append(Section(tuple(h.text for h in stack if h is not title), tuple(paragraphs)))
            paragraphs.clear()

    for block in blocks:
        if isinstance(block, Heading):
            close()
            while stack and stack[-1].level >= block.level:
                stack.pop()
            stack.append(block)
        elif block.text:
            paragraphs.append(block.text)
    close()
    return sections


class Writer:
    """Collects text as a markup walker meets it: inline runs into lines, lines into paragraphs.

    Whitespace inside a line collapses (as a browser shows it); `preformatted` text keeps its own."""

    def __init__(self) -> None:
        self.blocks: list[Block] = []
        self._lines: list[str] = []
        self._line: list[str] = []
        self._prefix = ""

    def add(self, text: str) -> None:
        self._line.append(text)

    def start_line(self, prefix: str = "") -> None:
        """A new line, with `prefix` (a list marker) shown only if the line gets any text.

        A line still empty keeps its marker: `<li><p>text</p></li>` is one item, not a bare line."""
        pending = "" if collapsed("".join(self._line)) else self._prefix
        self.end_line()
        self._prefix = prefix or pending

    def end_line(self) -> None:
        line = collapsed("".join(self._line))
        if line:
            self._lines.append(self._prefix + line)
        self._line.clear()
        self._prefix = ""

    def end_paragraph(self) -> None:
        self.end_line()
        if self._lines:
            self.blocks.append(Paragraph("\n".join(self._lines)))
            self._lines.clear()

    def heading(self, level: int, text: str) -> None:
        self.end_paragraph()
        if text := collapsed(text):
            self.blocks.append(Heading(level, text))

    def preformatted(self, text: str) -> None:
        self.end_paragraph()
        lines = [line.rstrip() for line in text.split("\n")]
        body = "\n".join(lines).strip("\n")
        if not is_blank(body):
            self.blocks.append(Paragraph(body))

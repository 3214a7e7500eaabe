"""Markdown (CommonMark and tables, through markdown-it-py's tokens): front matter, title, and text
by heading. Code fences are text, never headings; images and raw HTML blocks are dropped."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.token import Token

from agent.knowledge.parsing.blocks import Block, Heading, Parsed, Writer, collapsed, humanized, sections_of, title_heading
from agent.knowledge.parsing.chunks import chunks_of
from agent.knowledge.parsing.errors import UnreadableDocument
from agent.knowledge.parsing.frontmatter import split_front_matter

_MARKDOWN = MarkdownIt("commonmark").enable("table")
_TEXT = ("text", "code_inline", "text_special")
_BREAKS = ("softbreak", "hardbreak")


def parse_markdown(text: str, stem: str) -> Parsed:
    """Title from front matter, else the first heading, else the stem."""
    fields, body = split_front_matter(text)
    title = _text_field(fields, "title")
    url = _text_field(fields, "url")
    blocks = markdown_blocks(body)
    heading = title_heading(blocks)
    first = next((block for block in blocks if isinstance(block, Heading)), None)
    title = title or (first.text if first else humanized(stem))
    return Parsed(title=title, chunks=chunks_of(sections_of(blocks, heading)), url=url, metadata=fields)


def _text_field(fields: dict[str, Any], name: str) -> str | None:
    """A front matter field taken out of the metadata: its text, or None when absent or blank."""
    value = fields.pop(name, None)
    if isinstance(value, dict | list):
        raise UnreadableDocument(f"front matter {name} is not text")
    if value is None:
        return None
    return collapsed(str(value)) or None


def markdown_blocks(text: str) -> list[Block]:
    """The headings and paragraphs of `text`; list items and table rows are lines of one paragraph."""
    writer = Writer()
    lists: list[str] = []  # the lists open around the token, innermost last
    heading = 0  # the level of the heading being read, 0 outside one
    cells = 0
    for token in _MARKDOWN.parse(text):
        kind = token.type
        if kind == "heading_open":
            heading = int(token.tag[1])
        elif kind == "heading_close":
            heading = 0
        elif kind == "inline" and heading:
            writer.heading(heading, _inline_text(token.children or []))
        elif kind == "inline":
            _inline(writer, token.children or [])
        elif kind in ("fence", "code_block"):
            writer.preformatted(token.content)
        elif kind in ("bullet_list_open", "ordered_list_open"):
            _break(writer, lists)
            lists.append(kind)
        elif kind in ("bullet_list_close", "ordered_list_close"):
            lists.pop()
            _break(writer, lists)
        elif kind == "list_item_open":
            marker = f"{token.info}{token.markup}" if lists[-1] == "ordered_list_open" else "-"
            writer.start_line("  " * (len(lists) - 1) + marker + " ")
        elif kind in ("paragraph_close", "table_close", "blockquote_close", "hr"):
            _break(writer, lists)
        elif kind == "tr_open":
            writer.start_line()
            cells = 0
        elif kind in ("th_open", "td_open"):
            writer.add(" | " if cells else "")
            cells += 1
        # html_block: raw HTML in Markdown is layout (badges, centred images, comments), not text
    writer.end_paragraph()
    return writer.blocks


def _break(writer: Writer, lists: list[str]) -> None:
    """Inside a list a block ends a line of the list's paragraph; outside, the paragraph itself."""
    if lists:
        writer.start_line()
    else:
        writer.end_paragraph()


def _inline(writer: Writer, children: Sequence[Token]) -> None:
    for child in children:
        if child.type in _TEXT:
            writer.add(child.content)
        elif child.type == "softbreak":
            writer.add(" ")
        elif child.type == "hardbreak":
            writer.start_line()
        # images, raw inline HTML and the markers of emphasis and links add nothing; link text is a text child


def _inline_text(children: Sequence[Token]) -> str:
    return "".join(child.content if child.type in _TEXT else " " for child in children if child.type in _TEXT + _BREAKS)

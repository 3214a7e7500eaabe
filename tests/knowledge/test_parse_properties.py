"""Whatever bytes arrive under a supported name, parsing gives a well-formed document or says why not."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agent.knowledge.parsing import SUPPORTED_SUFFIXES, UnreadableDocument, parse_document
from agent.knowledge.parsing.chunks import CHUNK_CHARS
from agent.text import is_blank

# Pieces of every format's syntax, so generated files get past decoding into the parsers.
FRAGMENTS = [
    "#", "## ", "###### ", "\n", "\n\n", "---\n", "...\n", "```", "~~~", "    ", "- ", "1. ", "> ", "|", "|---|", "===\n",
    "![a](b)", "[x](y)", "**", "`", "<h1>", "</h1>", "<h3>", "<main>", "</main>", "<article>", "<p>", "</p>", "<li>", "<ul>",
    "<ol start=9999999999>", "<script>", "</script>", "<pre>", "<table><tr><td>", "<br>", "<!--", "-->", "&amp;", "&#0;",
    '<link rel="canonical" href="', '<base href="', "http://x/", "<title>", "title: ", "url: ", ": ", "&a ", "*a ", "[",
    "]", "{", "}", ",", ";", "\t", '"', "question,answer\n", "q;a\n", '{"question": ', '"answer": ', '"url": ', "null", "1e999",
    "\x00", "\r", "\r\n", "\ufeff", "\u200b", "\u2800", "\u00a0", "é", "。", ". ", "? ", "e.g. ", "A", "a", " ", "2024-13-45", "!!python/object",
]

markup = st.lists(st.sampled_from(FRAGMENTS) | st.text(max_size=8), max_size=80).map("".join)


def check(suffix: str, data: bytes) -> None:
    try:
        document = parse_document(Path(f"doc{suffix}"), data, collection="c", source=f"doc{suffix}", max_bytes=64 * 1024)
    except UnreadableDocument as unreadable:
        assert unreadable.reason and isinstance(unreadable.reason, str)
        return
    assert document.content_hash == hashlib.sha256(data).hexdigest()
    assert not is_blank(document.title)
    json.dumps(document.metadata)  # stored as JSON
    assert [chunk.ordinal for chunk in document.chunks] == list(range(len(document.chunks)))
    for chunk in document.chunks:
        assert not is_blank(chunk.text) and len(chunk.text) <= CHUNK_CHARS
        assert all(not is_blank(name) for name in chunk.section)


@pytest.mark.parametrize("suffix", sorted(SUPPORTED_SUFFIXES))
@settings(deadline=None)
@given(data=st.binary(max_size=4096))
def test_any_bytes_parse_or_are_unreadable(suffix: str, data: bytes) -> None:
    check(suffix, data)


@pytest.mark.parametrize("suffix", sorted(SUPPORTED_SUFFIXES))
@settings(deadline=None, max_examples=200)
@given(text=markup)
def test_any_markup_like_text_parses_or_is_unreadable(suffix: str, text: str) -> None:
    check(suffix, text.encode())

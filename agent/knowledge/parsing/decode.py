"""A file's bytes as text, or the reason they are not text a document can be parsed from."""

from __future__ import annotations

import codecs

from agent.knowledge.parsing.errors import UnreadableDocument
from agent.text import clean, is_blank

# As git and grep decide: a NUL near the start means binary, whatever the suffix says.
BINARY_SNIFF_BYTES = 8 * 1024


def decoded(data: bytes, max_bytes: int) -> str:
    """`data` as UTF-8 text (a BOM dropped, newlines as \\n), or UnreadableDocument."""
    if len(data) > max_bytes:
        raise UnreadableDocument(f"larger than {size_text(max_bytes)}")
    if not data.strip():
        raise UnreadableDocument("empty file")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise UnreadableDocument("not UTF-8 text")
    if b"\x00" in data[:BINARY_SNIFF_BYTES]:
        raise UnreadableDocument("binary file")
    try:
        text = data.removeprefix(codecs.BOM_UTF8).decode("utf-8")
    except UnicodeDecodeError:
        raise UnreadableDocument("not UTF-8 text") from None
    text = clean(text).replace("\r\n", "\n").replace("\r", "\n")
    if is_blank(text):
        raise UnreadableDocument("empty file")
    return text


def size_text(n: int) -> str:
    """2097152 -> "2 MB"; sizes that are not whole megabytes or kilobytes in bytes."""
    for unit, size in (("MB", 1024 * 1024), ("KB", 1024)):
        if n >= size and n % size == 0:
            return f"{n // size} {unit}"
    return f"{n} bytes"

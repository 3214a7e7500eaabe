from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from agent.knowledge.parsing import MAX_DOCUMENT_BYTES, UnreadableDocument, parse_document
from tests.knowledge.conftest import ParseFile

ALIAS_BOMB = "---\na: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n" + "".join(
    f"{name}: &{name} [{', '.join([f'*{previous}'] * 10)}]\n" for previous, name in zip("bcdefgh", "cdefghi")
) + "---\n# x\n\ntext\n"


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("a.md", b"", "empty file"),
        ("a.txt", b" \n\t\r\n", "empty file"),
        ("a.html", b"\xef\xbb\xbf \n", "empty file"),
        ("a.md", "\u200b\n".encode(), "empty file"),
        ("a.txt", b"text\x00more", "binary file"),
        ("a.md", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary file"),
        ("a.txt", "caf\u00e9".encode("latin-1"), "not UTF-8 text"),
        ("a.txt", "hello".encode("utf-16"), "not UTF-8 text"),
        ("a.pdf", b"%PDF-1.7", "unsupported file type .pdf"),
        ("Makefile", b"all:", "unsupported file type (no suffix)"),
        ("a.md", b"# Only a heading\n\n## And another\n", "no text"),
        ("a.html", b"<script>only()</script><nav>menu</nav>", "no text"),
        ("a.md", b"---\ntitle: ok\nbad: [unclosed\n---\ntext\n", "bad front matter on line 4"),
        ("a.md", b"---\ntitle: never closed\n\ntext\n", "front matter not closed"),
        ("a.md", b"---\n- a list\n---\ntext\n", "front matter is not a mapping"),
        ("a.md", b"---\nupdated: 2024-13-45\n---\ntext\n", "bad front matter"),
        ("a.md", b"---\ntitle: [a, b]\n---\ntext\n", "front matter title is not text"),
        ("a.md", ALIAS_BOMB.encode(), "front matter too large"),
        ("a.md", b"---\n" + b"key: value\n" * 7000 + b"---\ntext\n", "front matter too large"),
        ("a.html", b"<div>" * 2001 + b"deep", "HTML nested too deeply"),
    ],
)
def test_unreadable_files_say_why(parse_file: ParseFile, name: str, content: bytes, reason: str) -> None:
    with pytest.raises(UnreadableDocument) as raised:
        parse_file(name, content)
    assert raised.value.reason == reason
    assert isinstance(raised.value, ValueError)


def test_a_nul_past_the_first_8_kb_is_dropped_not_binary(parse_file: ParseFile) -> None:
    document = parse_file("a.txt", b"word " * 2000 + b"the\x00end")
    assert " ".join(chunk.text for chunk in document.chunks).endswith("word theend")
    assert not any("\x00" in chunk.text for chunk in document.chunks)


def test_the_size_limit_is_2_mb_unless_given(parse_file: ParseFile) -> None:
    line = b"Some text for the size test.\n\n"
    at_limit = line * (MAX_DOCUMENT_BYTES // len(line)) + b"x" * (MAX_DOCUMENT_BYTES % len(line))
    assert len(at_limit) == MAX_DOCUMENT_BYTES
    assert parse_file("a.txt", at_limit).chunks
    with pytest.raises(UnreadableDocument) as raised:
        parse_file("a.txt", at_limit + b"x")
    assert raised.value.reason == "larger than 2 MB"
    with pytest.raises(UnreadableDocument) as raised:
        parse_file("a.txt", b"x" * 1025, max_bytes=1024)
    assert raised.value.reason == "larger than 1 KB"
    with pytest.raises(UnreadableDocument) as raised:
        parse_file("a.txt", b"x" * 1001, max_bytes=1000)
    assert raised.value.reason == "larger than 1000 bytes"


def test_suffixes_are_matched_whatever_their_case(parse_file: ParseFile) -> None:
    assert parse_file("README.MD", "# Read me\n\nPlease.").title == "Read me"


def test_the_hash_is_the_sha256_of_the_bytes_and_moves_with_one_byte(tmp_path: Path) -> None:
    data = b"# Returns\n\nThirty days.\n"
    (tmp_path / "returns.md").write_bytes(data)
    read = (tmp_path / "returns.md").read_bytes()
    first = parse_document(tmp_path / "returns.md", read, collection="help", source="returns.md")
    again = parse_document(tmp_path / "elsewhere.md", read, collection="other", source="elsewhere.md")
    changed = parse_document(tmp_path / "returns.md", read.replace(b"Thirty", b"thirty"), collection="help", source="returns.md")
    assert first.content_hash == again.content_hash == hashlib.sha256(data).hexdigest()
    assert changed.content_hash != first.content_hash
    assert len(first.content_hash) == 64


def test_nesting_short_of_the_limit_is_read(parse_file: ParseFile) -> None:
    # <p> and <li> close themselves at the next one: thousands in a row are not nesting.
    document = parse_file("a.html", "<div>" * 1999 + "<p>para" * 3000 + "<ul>" + "<li>item" * 3000)
    assert document.chunks[0].text.startswith("para\n\npara")

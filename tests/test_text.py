"""agent.text: what is stored of a text, and when it counts as empty."""

from __future__ import annotations

import pytest

from agent.text import EMPTY, TOO_LONG, InvalidMessage, checked_text, clean, is_blank


def test_clean_replaces_lone_surrogates_and_drops_nuls() -> None:
    assert clean("a\ud800b\udfffc\x00d") == "a\ufffdb\ufffdcd"
    assert clean("plain 😀 text") == "plain 😀 text"
    assert clean("a\ud800").encode("utf-8")  # encodable, as every database needs


@pytest.mark.parametrize("text", ["", "  \n\t", "\u200b", "\u200c\u200d\u2060\ufeff", "\u00ad\u200e\u202e", "\u3164\u115f\u1160\uffa0", "\ufe0f\U000e0100\u034f", "\x00\x01", "\U000e0041", "\u2800"])
def test_invisible_text_is_blank(text: str) -> None:
    assert is_blank(text)


@pytest.mark.parametrize("text", ["a", " \u200b.", "\ufffd", "😀", "\u0301", "ー"])
def test_anything_a_reader_sees_is_not_blank(text: str) -> None:
    assert not is_blank(text)


def test_checked_text_is_cleaned_and_stripped() -> None:
    assert checked_text("  hi\x00 there \n", 20) == "hi there"


@pytest.mark.parametrize(("text", "reason"), [(" \u200b ", EMPTY), ("x" * 11, TOO_LONG)])
def test_checked_text_says_why_it_refuses(text: str, reason: str) -> None:
    with pytest.raises(InvalidMessage) as refused:
        checked_text(text, 10)
    assert refused.value.reason == reason


def test_the_length_counts_what_is_stored() -> None:
    assert checked_text(" " + "x" * 10 + " ", 10) == "x" * 10  # outer spaces are not kept, so not counted

"""SMS segment counting and splitting, against the GSM 03.38 / UCS-2 rules Twilio bills by."""

from __future__ import annotations

import math

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from channels.twilio.sms.segments import (
    GSM7_BASIC,
    GSM7_EXTENSION,
    Encoding,
    encoding,
    length,
    segment_count,
    split_message,
)

GSM_BASIC = "".join(sorted(GSM7_BASIC - {"\r"}))
GSM_EXT = "".join(sorted(GSM7_EXTENSION - {"\f"}))
gsm_basic_text = st.text(alphabet=GSM_BASIC, min_size=1, max_size=700)
gsm_text = st.text(alphabet=GSM_BASIC + GSM_EXT, min_size=1, max_size=700)
# Any text that has at least one character outside GSM-7 (BMP or astral, such as emoji).
ucs2_text = st.builds(
    lambda before, odd, after: before + odd + after,
    st.text(max_size=300),
    st.sampled_from(["ć", "“", "—", "中", "😀", "\U0001f44d", "…"]),
    st.text(max_size=300),
)
words = st.text(alphabet="abcdefghijklmnopqrstuvwxyzé€😀", min_size=1, max_size=12)
sentences = st.lists(words, min_size=1, max_size=12).map(lambda ws: " ".join(ws)).flatmap(
    lambda s: st.sampled_from([".", "!", "?", ""]).map(lambda end: s + end)
)
prose = st.lists(sentences, min_size=1, max_size=25).flatmap(
    lambda ss: st.sampled_from([" ", "\n", "  "]).map(lambda sep: sep.join(ss))
)


def test_the_classic_limits() -> None:
    assert segment_count("a" * 160) == 1
    assert segment_count("a" * 161) == 2
    assert segment_count("a" * 306) == 2
    assert segment_count("a" * 307) == 3
    assert segment_count("ć" * 70) == 1
    assert segment_count("ć" * 71) == 2
    assert segment_count("ć" * 134) == 2
    assert segment_count("ć" * 135) == 3
    assert segment_count("") == 0


def test_one_non_gsm_character_switches_the_whole_message_to_ucs2() -> None:
    text = "a" * 100
    assert encoding(text) is Encoding.GSM7 and segment_count(text) == 1
    assert encoding(text + "’") is Encoding.UCS2 and segment_count(text + "’") == 2
    # é, ñ, Ä are in the GSM alphabet; ć and ’ are not.
    assert encoding("Café Niño Äpfel") is Encoding.GSM7


def test_extension_characters_take_two_septets_and_never_straddle_a_part() -> None:
    assert length("€") == 2 and length("a€[") == 5
    assert segment_count("€" * 80) == 1  # 160 septets
    assert segment_count("€" * 81) == 2
    # 306 septets either way; after 152 "a"s the escape pair does not fit (154 > 153) and moves
    # to part two, which then overflows into a third.
    assert segment_count("a" * 152 + "€" + "a" * 152) == 3
    assert segment_count("a" * 151 + "€" + "a" * 153) == 2


def test_astral_characters_take_two_units_in_ucs2() -> None:
    assert length("😀") == 2
    assert segment_count("😀" * 35) == 1
    assert segment_count("😀" * 36) == 2


@given(gsm_basic_text)
def test_basic_gsm_segments_follow_twilios_formula(text: str) -> None:
    n = len(text)
    assert segment_count(text) == (1 if n <= 160 else math.ceil(n / 153))


@given(gsm_text)
def test_gsm_extension_characters_count_double(text: str) -> None:
    extensions = sum(ch in GSM7_EXTENSION for ch in text)
    septets = length(text)
    assert encoding(text) is Encoding.GSM7
    assert septets == len(text) + extensions
    count = segment_count(text)
    if septets <= 160:
        assert count == 1
    else:
        # An escape pair is never split, so a part holds 152 or 153 septets.
        assert math.ceil(septets / 153) <= count <= math.ceil(septets / 152)


@given(ucs2_text)
def test_ucs2_segments_follow_twilios_formula(text: str) -> None:
    units = len(text.encode("utf-16-le")) // 2
    assert encoding(text) is Encoding.UCS2
    assert length(text) == units
    count = segment_count(text)
    if units <= 70:
        assert count == 1
    else:
        assert math.ceil(units / 67) <= count <= math.ceil(units / 66)


@settings(max_examples=300)
@given(prose, st.integers(min_value=1, max_value=4))
def test_every_part_is_within_the_budget_and_the_words_survive(text: str, budget: int) -> None:
    parts = split_message(text, budget)
    assert all(part and segment_count(part) <= budget for part in parts)
    assert all(part == part.strip() for part in parts)
    # No word here is longer than a message, so none is cut: the words are the same, in order.
    assert " ".join(parts).split() == text.split()


@given(st.text(min_size=1, max_size=2000), st.integers(min_value=1, max_value=3))
def test_any_text_splits_within_budget_and_loses_no_character(text: str, budget: int) -> None:
    parts = split_message(text, budget)
    assert all(segment_count(part) <= budget for part in parts)
    assert "".join("".join(parts).split()) == "".join(text.split())


@given(prose)
def test_a_message_that_fits_is_not_split(text: str) -> None:
    assume(segment_count(text.strip()) <= 3)
    assert split_message(text, 3) == [text.strip()]


def test_splits_fall_at_sentence_ends() -> None:
    first = "Your order NW-10482 shipped yesterday with UPS and should arrive on Tuesday before noon."
    second = "You can track it with the number in your shipping email."
    third = "Anything else I can help with?"
    parts = split_message(f"{first} {second} {third}", 1)
    assert parts == [f"{first} {second}", third]
    assert all(segment_count(p) == 1 for p in parts)


def test_a_budget_below_one_is_refused() -> None:
    with pytest.raises(ValueError):
        split_message("hi", 0)

"""Splitting a streamed answer into whole sentences a voice can speak."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from personas import StreamedAnswer, complete_sentences, to_speech


@given(st.text(alphabet=st.sampled_from(list("ab .!?\n$1,5-NW\"")), max_size=60))
def test_complete_sentences_split_without_losing_text(text: str) -> None:
    ready, rest = complete_sentences(text)
    assert ready + rest == text
    assert ready == "" or ready[-1].isspace()
    assert complete_sentences(rest) == ("", rest)


def test_complete_sentences_wait_for_the_end_of_a_sentence() -> None:
    assert complete_sentences("It costs $1.50 for NW-10482.") == ("", "It costs $1.50 for NW-10482.")
    assert complete_sentences("Shipped Monday. It should") == ("Shipped Monday. ", "It should")
    assert complete_sentences('He said "done." Then') == ('He said "done." ', "Then")


def test_a_streamed_answer_is_spoken_in_whole_sentences() -> None:
    streamed = StreamedAnswer("voice")
    assert streamed.piece("Order NW-10482 ships") == ""
    assert streamed.piece(" today. Then") == to_speech("Order NW-10482 ships today.") + " "
    streamed.reset()
    assert streamed.piece(" more.\n") == "more. "  # "Then" went with the reset


def test_a_streamed_answer_in_text_goes_as_it_comes() -> None:
    streamed = StreamedAnswer("web")
    assert streamed.piece("**Our") == "**Our"

from __future__ import annotations

import re

from agent.knowledge.parsing.chunks import CHUNK_CHARS, pieces
from tests.knowledge.conftest import ParseFile


def sentence(n: int) -> str:
    return f"Refund rule {n} applies to orders paid by card, voucher or bank transfer within the returns window."


def test_a_long_section_splits_between_sentences_and_keeps_its_path(parse_file: ParseFile) -> None:
    body = " ".join(sentence(n) for n in range(30))  # one paragraph of ~3,000 characters
    document = parse_file("policy.md", f"# Policy\n\nShort intro.\n\n## Refunds\n\n### Cards\n\n{body}\n\n## After\n\nEnd.\n")
    middle = document.chunks[1:-1]
    assert len(middle) >= 3
    assert all(chunk.section == ("Refunds", "Cards") for chunk in middle)
    assert all(len(chunk.text) <= CHUNK_CHARS for chunk in middle)
    for chunk in middle:
        assert re.fullmatch(r"(Refund rule \d+ applies [^.]*\. ?)+", chunk.text), chunk.text
    assert " ".join(chunk.text for chunk in middle) == body
    assert [chunk.ordinal for chunk in document.chunks] == list(range(len(document.chunks)))
    assert document.chunks[0].section == () and document.chunks[-1].section == ("After",)


def test_paragraph_boundaries_come_before_sentence_boundaries() -> None:
    first = " ".join(sentence(n) for n in range(6))  # ~600 characters
    second = " ".join(sentence(n) for n in range(6, 12))
    assert pieces(f"{first}\n\n{second}") == [first, second]


def test_short_paragraphs_are_packed_together_up_to_the_cap() -> None:
    paragraphs = [sentence(n) for n in range(20)]
    found = pieces("\n\n".join(paragraphs))
    assert all(len(piece) <= CHUNK_CHARS for piece in found)
    assert [piece.count("Refund rule") for piece in found] == [10, 10]  # ~98 characters each: ten fit
    assert "\n\n".join(found) == "\n\n".join(paragraphs)


def test_an_abbreviation_does_not_end_a_sentence() -> None:
    text = "Bring a receipt, e.g. the email we sent. " * 40
    found = pieces(text, cap=100)
    assert found[0] == "Bring a receipt, e.g. the email we sent. Bring a receipt, e.g. the email we sent."


def test_a_sentence_over_the_cap_wraps_at_words() -> None:
    words = [f"word{n}" for n in range(400)]
    found = pieces(" ".join(words) + ".")
    assert len(found) > 1 and all(len(piece) <= CHUNK_CHARS for piece in found)
    assert " ".join(found).split(" ") == words[:-1] + [words[-1] + "."]


def test_a_word_over_the_cap_is_cut() -> None:
    assert pieces("x" * 25, cap=10) == ["x" * 10, "x" * 10, "x" * 5]


def test_a_long_list_splits_between_items() -> None:
    items = [f"- Item {n}: a line about one of the products on offer this week" for n in range(40)]
    found = pieces("\n".join(items))
    assert len(found) > 1
    assert [line for piece in found for line in piece.split("\n")] == items


def test_blank_text_has_no_pieces() -> None:
    assert pieces(" \n\n \t") == []

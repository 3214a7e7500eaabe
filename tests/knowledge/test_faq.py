from __future__ import annotations

import json

import pytest

from agent.knowledge.parsing import UnreadableDocument
from tests.knowledge.conftest import ParseFile


def test_csv_pairs_are_chunks_under_their_question(parse_file: ParseFile) -> None:
    document = parse_file("shipping-faq.csv", (
        "Question,Answer,URL\n"
        "How long does shipping take?,Two to five days.,https://acme.example/shipping\n"
        ",,\n"
        "\n"
        '"Do you ship abroad?","Yes, to the EU.\n\nNot yet elsewhere.",\n'
        "A question with no answer,,\n"
    ))
    assert document.title == "Shipping Faq"
    assert [(chunk.ordinal, chunk.section, chunk.text, chunk.url) for chunk in document.chunks] == [
        (0, ("How long does shipping take?",), "Two to five days.", "https://acme.example/shipping"),
        (1, ("Do you ship abroad?",), "Yes, to the EU.\n\nNot yet elsewhere.", None),
    ]
    assert document.url is None


@pytest.mark.parametrize(
    "header",
    ["q,a", "QUESTION,ANSWER", " Question , Answer ", "id,answer,question"],
)
def test_csv_column_names_are_found_whatever_their_case_and_order(parse_file: ParseFile, header: str) -> None:
    row = "1,Yes.,Open late?" if header.startswith("id") else "Open late?,Yes."
    document = parse_file("faq.csv", f"{header}\n{row}\n")
    assert [(chunk.section, chunk.text) for chunk in document.chunks] == [(("Open late?",), "Yes.")]


def test_semicolon_csv_from_a_spreadsheet(parse_file: ParseFile) -> None:
    document = parse_file("faq.csv", "question;answer\nPrice?;5,00 EUR\n")
    assert [(chunk.section, chunk.text) for chunk in document.chunks] == [(("Price?",), "5,00 EUR")]


def test_jsonl_pairs_with_a_shared_url_give_the_document_its_url(parse_file: ParseFile) -> None:
    text = "\n".join([
        json.dumps({"question": "Can I return a gift?", "answer": "Yes, with the receipt.", "url": "https://acme.example/faq"}),
        "",
        json.dumps({"question": "  ", "answer": "Blank question: skipped.", "url": "https://acme.example/faq"}),
        json.dumps({"Question": "Refund time?", "Answer": "Five days.", "url": "https://acme.example/faq"}),
    ])
    document = parse_file("returns-faq.jsonl", text)
    assert document.title == "Returns Faq"
    assert document.url == "https://acme.example/faq"
    assert [(chunk.ordinal, chunk.section, chunk.text) for chunk in document.chunks] == [
        (0, ("Can I return a gift?",), "Yes, with the receipt."),
        (1, ("Refund time?",), "Five days."),
    ]


def test_a_long_answer_splits_and_every_piece_keeps_its_question(parse_file: ParseFile) -> None:
    answer = " ".join(f"Sentence number {n} of the answer says something useful." for n in range(40))
    document = parse_file("faq.jsonl", json.dumps({"q": "Long?", "a": answer}) + "\n" + json.dumps({"q": "Short?", "a": "Yes."}))
    assert len(document.chunks) > 2
    assert {chunk.section for chunk in document.chunks[:-1]} == {("Long?",)}
    assert document.chunks[-1].section == ("Short?",)
    assert [chunk.ordinal for chunk in document.chunks] == list(range(len(document.chunks)))
    assert " ".join(chunk.text for chunk in document.chunks[:-1]) == answer


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("faq.csv", "title,body\nx,y\n", "no question/answer columns"),
        ("faq.csv", "question,answer\n,\n  ,  \n", "no question/answer pairs"),
        ("faq.jsonl", '{"question": "a", "answer": "b"}\n\n{"question": "c", "answer": \n', "bad JSON on line 3"),
        ("faq.jsonl", '{"question": "a", "answer": "b"}\n["a", "b"]\n', "line 2 is not a JSON object"),
        ("faq.jsonl", '{"question": "a"}\n', "no question/answer on line 1"),
        ("faq.jsonl", '{"question": "", "answer": ""}\n', "no question/answer pairs"),
    ],
)
def test_unreadable_faqs_say_why(parse_file: ParseFile, name: str, content: str, reason: str) -> None:
    with pytest.raises(UnreadableDocument) as raised:
        parse_file(name, content)
    assert raised.value.reason == reason

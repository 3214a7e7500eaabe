from __future__ import annotations

from tests.knowledge.conftest import ParseFile


def test_a_short_first_line_alone_is_the_title_and_paragraphs_are_chunks(parse_file: ParseFile) -> None:
    document = parse_file("hours.txt", "Opening hours\n\nWe open at nine\nand close at five.\n\n- Monday\n- Tuesday\n\n\nClosed on Sundays.\n")
    assert document.title == "Opening hours"
    assert [(chunk.section, chunk.text) for chunk in document.chunks] == [
        ((), "We open at nine and close at five.\n\n- Monday\n- Tuesday\n\nClosed on Sundays."),
    ]


def test_a_short_first_line_running_into_its_paragraph_is_title_and_text(parse_file: ParseFile) -> None:
    document = parse_file("note.txt", "Parking is free.\nAsk at the desk.\n")
    assert document.title == "Parking is free."
    assert document.chunks[0].text == "Parking is free. Ask at the desk."


def test_a_long_first_line_leaves_the_title_to_the_stem(parse_file: ParseFile) -> None:
    first = "This opening sentence is far too long to be anything like a title for the whole of the document."
    assert len(first) > 80
    document = parse_file("store_policy.txt", first + "\n\nSecond paragraph.")
    assert document.title == "Store Policy"
    assert document.chunks[0].text.startswith("This opening sentence")


def test_an_eighty_character_line_is_still_a_title(parse_file: ParseFile) -> None:
    document = parse_file("a.txt", "T" * 80 + "\n\nBody.")
    assert document.title == "T" * 80
    assert [chunk.text for chunk in document.chunks] == ["Body."]


def test_a_lone_title_line_is_kept_as_text(parse_file: ParseFile) -> None:
    document = parse_file("a.txt", "Closed for stocktaking\n")
    assert document.title == "Closed for stocktaking"
    assert [chunk.text for chunk in document.chunks] == ["Closed for stocktaking"]


def test_windows_newlines_and_a_bom_are_read(parse_file: ParseFile) -> None:
    document = parse_file("a.txt", "\ufeffTitle\r\n\r\nOne\r\ntwo.\r\n".encode())
    assert document.title == "Title"
    assert document.chunks[0].text == "One two."


def test_lines_of_invisible_characters_are_neither_title_nor_text(parse_file: ParseFile) -> None:
    document = parse_file("a.txt", "\u200b\u200d\n\nDelivery notes\n\n\u2800\u2800\n\nWe deliver daily.\n")
    assert document.title == "Delivery notes"
    assert [chunk.text for chunk in document.chunks] == ["We deliver daily."]

from __future__ import annotations

from textwrap import dedent

from agent.contracts.knowledge import DocumentRecord
from tests.knowledge.conftest import ParseFile


def sections(document: DocumentRecord) -> list[tuple[tuple[str, ...], str]]:
    return [(chunk.section, chunk.text) for chunk in document.chunks]


def test_a_sole_h1_titles_the_document_and_is_not_repeated_in_section_paths(parse_file: ParseFile) -> None:
    document = parse_file("returns.md", dedent("""\
        # Returns

        Anything bought in the last 30 days can come back.

        ## Refund times

        Refunds reach your card in 5 days.

        ### By card

        Card refunds show as pending first.

        ## Exchanges

        Swap a size in store.
        """))
    assert document.title == "Returns"
    assert document.collection == "help" and document.source == "returns.md"
    assert sections(document) == [
        ((), "Anything bought in the last 30 days can come back."),
        (("Refund times",), "Refunds reach your card in 5 days."),
        (("Refund times", "By card"), "Card refunds show as pending first."),
        (("Exchanges",), "Swap a size in store."),
    ]
    assert [chunk.ordinal for chunk in document.chunks] == [0, 1, 2, 3]


def test_several_h1s_are_sections_and_the_first_heading_is_the_title(parse_file: ParseFile) -> None:
    document = parse_file("guide.md", "# Part one\n\nFirst.\n\n## Detail\n\nMore.\n\n# Part two\n\nSecond.\n")
    assert document.title == "Part one"
    assert sections(document) == [
        (("Part one",), "First."),
        (("Part one", "Detail"), "More."),
        (("Part two",), "Second."),
    ]


def test_without_headings_the_title_is_the_humanized_stem(parse_file: ParseFile) -> None:
    document = parse_file("opening_hours-and-holidays.md", "We open at nine.\n")
    assert document.title == "Opening Hours And Holidays"
    assert sections(document) == [((), "We open at nine.")]


def test_a_skipped_level_nests_under_the_heading_above_it(parse_file: ParseFile) -> None:
    document = parse_file("a.md", "# A\n\n#### Deep\n\nd\n\n## Mid\n\nm\n\n###### Deepest\n\nx\n")
    assert [chunk.section for chunk in document.chunks] == [("Deep",), ("Mid",), ("Mid", "Deepest")]


def test_hash_lines_in_code_fences_are_text_not_headings(parse_file: ParseFile) -> None:
    document = parse_file("setup.md", dedent("""\
        # Setup

        ## Config

        ```bash
        # not a heading
        export TOKEN=1
        ```

        ~~~
        ## nor this
        ~~~

        After the code.
        """))
    assert [chunk.section for chunk in document.chunks] == [("Config",)]
    text = document.chunks[0].text
    assert "# not a heading\nexport TOKEN=1" in text
    assert "## nor this" in text
    assert text.endswith("After the code.")


def test_headings_without_text_make_no_chunk(parse_file: ParseFile) -> None:
    document = parse_file("faq.md", "# FAQ\n\n## Empty\n\n## Also empty\n### Still nothing\n\n## Full\n\nYes.\n")
    assert sections(document) == [(("Full",), "Yes.")]
    assert document.chunks[0].ordinal == 0


def test_front_matter_gives_title_url_and_metadata(parse_file: ParseFile) -> None:
    document = parse_file("returns.md", dedent("""\
        ---
        title: Our returns policy
        url: https://shop.example/returns
        tags: [refunds, policy]
        updated: 2024-05-01
        ---
        # Returns

        Thirty days.
        """))
    assert document.title == "Our returns policy"
    assert document.url == "https://shop.example/returns"
    assert document.metadata == {"tags": ["refunds", "policy"], "updated": "2024-05-01"}
    assert sections(document) == [((), "Thirty days.")]


def test_without_front_matter_there_is_no_url_or_metadata(parse_file: ParseFile) -> None:
    document = parse_file("a.md", "# A\n\ntext\n\n---\n\nmore\n")
    assert document.url is None and document.metadata == {}
    assert sections(document) == [((), "text\n\nmore")]


def test_text_is_plain_link_text_kept_images_and_markers_dropped(parse_file: ParseFile) -> None:
    document = parse_file("a.md", dedent("""\
        # Help

        Read **the** [returns page](https://x.example/r) ![a photo](p.png) or call `0800`.
        A wrapped line.

        - first item
        - second item
          - nested item

        3. third
        4. fourth

        > A quoted tip.

        | Zone | Days |
        |------|------|
        | EU   | 2    |

        <div align="center"><img src="badge.svg"></div>
        """))
    text = document.chunks[0].text
    assert "Read the returns page" in text and "or call 0800. A wrapped line." in text
    assert "https://x.example" not in text and "a photo" not in text and "p.png" not in text
    assert "- first item\n- second item\n  - nested item" in text
    assert "3. third\n4. fourth" in text
    assert "A quoted tip." in text and "> " not in text
    assert "Zone | Days\nEU | 2" in text
    assert "badge" not in text and "<" not in text and "**" not in text


def test_setext_headings_are_headings(parse_file: ParseFile) -> None:
    document = parse_file("a.markdown", "Title\n=====\n\nIntro.\n\nPart\n----\n\nBody.\n")
    assert document.title == "Title"
    assert sections(document) == [((), "Intro."), (("Part",), "Body.")]


def test_a_heading_of_invisible_characters_is_no_heading(parse_file: ParseFile) -> None:
    document = parse_file("gift-cards.md", "# \u200b\n\nNever expire.\n\n## \u2800\n\nStill the intro.\n")
    assert document.title == "Gift Cards"
    assert sections(document) == [((), "Never expire.\n\nStill the intro.")]

"""Slack text: mrkdwn from common Markdown, escaping, and clean splitting of long answers."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from channels.slack.format import escape, split_text, to_mrkdwn


def test_markdown_becomes_mrkdwn() -> None:
    text = "## Returns\n**30 days**, see [our policy](https://example.com/returns).\n- unworn\n* with tags"
    assert to_mrkdwn(text) == (
        "*Returns*\n*30 days*, see <https://example.com/returns|our policy>.\n• unworn\n• with tags"
    )


def test_slack_control_characters_are_escaped_but_links_kept() -> None:
    assert escape("a < b & c > d") == "a &lt; b &amp; c &gt; d"
    assert escape("ping <!channel> and <@U123>") == "ping &lt;!channel&gt; and &lt;@U123&gt;"
    assert escape("see <https://x.test/a?b=1&c=2|the page>") == "see <https://x.test/a?b=1&c=2|the page>"
    assert escape("already &amp; escaped") == "already &amp; escaped"


def test_a_long_answer_is_split_at_paragraphs_first() -> None:
    paragraphs = ["First paragraph. " * 10, "Second paragraph. " * 10, "Third. " * 10]
    text = "\n\n".join(p.strip() for p in paragraphs)
    pieces = split_text(text, 400)
    assert pieces == [paragraphs[0].strip() + "\n\n" + paragraphs[1].strip(), paragraphs[2].strip()]


def test_without_paragraphs_it_splits_at_sentences_then_words() -> None:
    sentences = "This is a sentence that goes on. " * 20
    pieces = split_text(sentences, 100)
    assert all(len(p) <= 100 for p in pieces)
    assert all(p.endswith(".") for p in pieces)
    words = "word " * 100
    assert all(len(p) <= 50 and not p.endswith(" ") for p in split_text(words, 50))


@given(st.text(alphabet=st.sampled_from("ab .!?\n<>|:/"), max_size=2000), st.integers(min_value=20, max_value=500))
def test_splitting_keeps_every_word_and_every_limit(text: str, limit: int) -> None:
    pieces = split_text(text, limit)
    assert all(0 < len(p) <= limit for p in pieces)
    # Nothing is lost or reordered: only whitespace at the cuts goes.
    assert "".join("".join(pieces).split()) == "".join(text.split())

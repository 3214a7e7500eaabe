"""Slack text: mrkdwn from common Markdown, escaping, and clean splitting of long answers."""

from __future__ import annotations

import string

from hypothesis import given
from hypothesis import strategies as st

from channels.slack.format import escape, from_mrkdwn, split_text, to_mrkdwn


def test_markdown_becomes_mrkdwn() -> None:
    text = "## Returns\n**30 days**, see [our policy](https://example.com/returns).\n- unworn\n* with tags"
    assert to_mrkdwn(text) == (
        "*Returns*\n*30 days*, see <https://example.com/returns|our policy>.\n• unworn\n• with tags"
    )


def test_italic_is_slack_italic_and_bold_is_slack_bold() -> None:
    assert to_mrkdwn("*italic* and _italic_") == "_italic_ and _italic_"
    assert to_mrkdwn("**bold** and __bold__") == "*bold* and *bold*"
    assert to_mrkdwn("***both***") == "*_both_*"
    assert to_mrkdwn("**bold with *italic* inside**") == "*bold with _italic_ inside*"
    assert to_mrkdwn("*italic with **bold** inside*") == "_italic with *bold* inside_"
    assert to_mrkdwn("## **Returns**\n~~old~~ price") == "*Returns*\n~old~ price"
    assert to_mrkdwn("* a *tent*\n+ a **boot**\n  - a [*pack*](https://x.test/p)") == (
        "• a _tent_\n• a *boot*\n  • a <https://x.test/p|_pack_>"
    )


def test_what_only_looks_like_emphasis_is_left_alone() -> None:
    for text in ("snake_case_name", "2*3*4", "a * b * c", "*not closed", "https://x.test/_a_/b*c*", "<https://x.test/_a_|x>"):
        assert to_mrkdwn(text) == text
    # Code is kept as written, only escaped; a fence's language name goes.
    assert to_mrkdwn("`**x** _y_` and **z**") == "`**x** _y_` and *z*"
    assert to_mrkdwn("```python\nif a < b and *c*:\n```") == "```if a &lt; b and *c*:\n```"
    assert to_mrkdwn("```x = *1*```") == "```x = *1*```"


def test_a_bare_url_ends_before_the_punctuation_and_emphasis_around_it() -> None:
    assert to_mrkdwn("**Track it: https://x.test/a**") == "*Track it: https://x.test/a*"
    assert to_mrkdwn("Details: **https://x.test/returns**.") == "Details: *https://x.test/returns*."
    assert to_mrkdwn("see https://x.test/a_b, or *https://x.test/c*") == "see https://x.test/a_b, or _https://x.test/c_"


def test_bold_a_person_writes_in_slack_is_stored_as_markdown() -> None:
    assert from_mrkdwn("*order* shipped, _soon_, 2*3*4") == "**order** shipped, _soon_, 2*3*4"
    assert to_mrkdwn(from_mrkdwn("*order* shipped")) == "*order* shipped"
    # Code a person writes in Slack is kept as written.
    assert from_mrkdwn("run `*x*` then *go*") == "run `*x*` then **go**"
    assert from_mrkdwn("```a *b* c```") == "```a *b* c```"


WORDS = st.lists(st.text(alphabet=string.ascii_letters + string.digits, min_size=1, max_size=6), min_size=1, max_size=3).map(" ".join)


@st.composite
def segment(draw: st.DrawFn) -> tuple[str, str]:
    """A piece of Markdown and the mrkdwn it must become."""
    kind = draw(st.sampled_from(["plain", "bold", "bold_", "italic", "italic_", "nested", "code", "link", "url", "bold_url"]))
    p, q = draw(WORDS), draw(WORDS)
    return {
        "plain": (p, p),
        "bold": (f"**{p}**", f"*{p}*"),
        "bold_": (f"__{p}__", f"*{p}*"),
        "italic": (f"*{p}*", f"_{p}_"),
        "italic_": (f"_{p}_", f"_{p}_"),
        "nested": (f"**{p} *{q}* {p}**", f"*{p} _{q}_ {p}*"),
        "code": (f"`**{p}** *{q}* _{q}_`", f"`**{p}** *{q}* _{q}_`"),
        "link": (f"[{p}](https://x.test/{q.replace(' ', '_')}_)", f"<https://x.test/{q.replace(' ', '_')}_|{p}>"),
        "url": (f"https://x.test/{q.replace(' ', '_')}", f"https://x.test/{q.replace(' ', '_')}"),
        "bold_url": (f"**{p} https://x.test/{q.replace(' ', '/')}**", f"*{p} https://x.test/{q.replace(' ', '/')}*"),
    }[kind]


@st.composite
def line(draw: st.DrawFn) -> tuple[str, str]:
    pieces = draw(st.lists(segment(), min_size=1, max_size=5))
    markdown, mrkdwn = " ".join(m for m, _ in pieces), " ".join(s for _, s in pieces)
    bullet = draw(st.sampled_from(["", "- ", "* ", "  - "]))
    indent = "  " if bullet.startswith(" ") else ""
    return bullet + markdown, (indent + "• " if bullet else "") + mrkdwn


@given(st.lists(line(), min_size=1, max_size=6))
def test_markdown_lines_become_the_mrkdwn_they_mean(lines: list[tuple[str, str]]) -> None:
    assert to_mrkdwn("\n".join(m for m, _ in lines)) == "\n".join(s for _, s in lines)


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

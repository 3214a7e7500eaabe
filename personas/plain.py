"""Plain text for channels without markup (SMS): markdown removed, typography made GSM-friendly.

Curly quotes, long dashes and the ellipsis are outside the GSM-7 alphabet; one of them turns a
whole SMS into UCS-2, which more than halves what fits in a segment. Their plain equivalents read
the same, so they are swapped; text in other scripts is left alone.
"""

from __future__ import annotations

import re

# Characters that have a plain GSM-7 equivalent that reads the same.
TYPOGRAPHY = str.maketrans(
    {
        "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u2032": "'",
        "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u2033": '"',
        "\u2013": "-", "\u2014": "-", "\u2012": "-", "\u2212": "-", "\u2010": "-", "\u2011": "-",
        "\u00a0": " ", "\u2009": " ", "\u202f": " ", "\u2007": " ",
        "\u2022": "-", "\u00b7": "-",
        "\u2026": "...",
    }
)
LINK = re.compile(r"\[([^\]\n]+)\]\((\S+?)\)")
SLACK_LINK = re.compile(r"<(https?://[^|>\s]+)\|([^>\n]+)>")
BOLD = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
ITALIC = re.compile(r"(?<![\w*])([*_])(?=\S)([^*_\n]+?)(?<=\S)\1(?![\w*])")
CODE = re.compile(r"`([^`\n]+)`")
HEADING = re.compile(r"^\s{0,3}#{1,6}\s+", re.MULTILINE)
BULLET = re.compile(r"^(\s*)[*+\u2022]\s+", re.MULTILINE)
# Pictographs and their joiners and variation selectors: no emoji on SMS or voice.
EMOJI = re.compile("[\U0001f000-\U0001faff\u2600-\u27bf\u2b50\u2b55\ufe0f\u200d]")
BLANK_LINES = re.compile(r"\n{3,}")
SPACES = re.compile(r"[ \t]+")


def strip_markdown(text: str, link: str = "{text} ({url})") -> str:
    """Markdown (and Slack-style links) as plain text; `link` formats a link from its text and url."""

    def as_link(text_: str, url: str) -> str:
        return url if text_.strip() == url else link.format(text=text_, url=url)

    text = LINK.sub(lambda m: as_link(m.group(1), m.group(2)), text)
    text = SLACK_LINK.sub(lambda m: as_link(m.group(2), m.group(1)), text)
    text = CODE.sub(r"\1", text)
    text = BOLD.sub(r"\2", text)
    text = ITALIC.sub(r"\2", text)
    text = HEADING.sub("", text)
    return BULLET.sub(r"\1- ", text)


def to_plain_text(text: str) -> str:
    """An answer as an SMS carries it: no markdown, no emoji, GSM-7 punctuation where it means the same."""
    text = strip_markdown(text, link="{text}: {url}").translate(TYPOGRAPHY)
    text = EMOJI.sub("", text)
    lines = [SPACES.sub(" ", line).strip() for line in text.splitlines()]
    return BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()

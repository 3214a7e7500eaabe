"""Text for Slack: common Markdown into mrkdwn, Slack's control characters escaped, long text split."""

from __future__ import annotations

import re

# Links Slack renders (<https://x|label>, <mailto:…>) are kept; anything else in angle
# brackets (<!channel>, <@U123>, stray HTML) is escaped, so an answer can never ping people.
_SLACK_LINK = re.compile(r"<((?:https?|mailto):[^<>\s|]+(?:\|[^<>]*)?)>")
_MD_LINK = re.compile(r"\[([^\]\n]+)\]\(((?:https?|mailto):[^)\s]+)\)")
_MD_CODE = re.compile(r"```(?:[\w+#.-]*\n)?(.*?)```|`[^`\n]+`", re.DOTALL)
# A URL's last character is never punctuation or an emphasis mark: "see https://x.com/a." and
# "**https://x.com/a**" keep their "." and "**" outside it.
_BARE_URL = re.compile(r"(?:https?|mailto):[^\s<>]*[^\s<>.,;:!?)*_~]")
_MD_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)
_MD_BULLET = re.compile(r"^(\s*)[-*+]\s+", re.MULTILINE)
# Emphasis opens before a non-space and closes after one, never inside a word (snake_case, 2*3*4).
_MD_BOLD_ITALIC = re.compile(r"(?<![\w*])\*\*\*(?=[^\s*])(.+?)(?<=[^\s*])\*\*\*(?![\w*])")
_MD_BOLD = re.compile(r"(?<![\w*])\*\*(?=[^\s*])(.+?)(?<=[^\s*])\*\*(?![\w*])|(?<![\w_])__(?=[^\s_])(.+?)(?<=[^\s_])__(?![\w_])")
_MD_ITALIC = re.compile(r"(?<![\w*])\*(?=[^\s*])(.+?)(?<=[^\s*])\*(?![\w*])|(?<![\w_])_(?=[^\s_])(.+?)(?<=[^\s_])_(?![\w_])")
_MD_STRIKE = re.compile(r"~~(?=\S)(.+?)(?<=\S)~~")
_MRKDWN_BOLD = re.compile(r"(?<![\w*])\*(?=[^\s*])([^*\n]+?)(?<=[^\s*])\*(?![\w*])")
_ENTITY = re.compile(r"&(?!(?:amp|lt|gt);)")
# Stand-ins while converting: bold and italic marks (so a converted `*` is never read again as
# Markdown), and slots for code and links, which are put back as they are.
_BOLD, _ITALIC, _SLOT = "\x01", "\x02", "\x03"


def escape(text: str) -> str:
    """Escape &, < and > as Slack requires, keeping well-formed web and mail links."""
    kept: list[str] = []

    def keep(match: re.Match[str]) -> str:
        kept.append(match.group(1))
        return f"\x00{len(kept) - 1}\x00"

    text = _SLACK_LINK.sub(keep, text)
    text = _ENTITY.sub("&amp;", text).replace("<", "&lt;").replace(">", "&gt;")
    return re.sub(r"\x00(\d+)\x00", lambda m: f"<{kept[int(m.group(1))]}>", text)


def to_mrkdwn(text: str) -> str:
    """Markdown a model writes (**bold**, *italic*, [label](url), # headings, - bullets, `code`) as mrkdwn.

    Code is kept as written (only escaped); a fence's language name is dropped, Slack has no use for it.
    """
    slots: list[str] = []

    def slot(kept: str) -> str:
        slots.append(kept)
        return f"{_SLOT}{len(slots) - 1}{_SLOT}"

    def code(match: re.Match[str]) -> str:
        body = match.group(0) if match.group(1) is None else f"```{match.group(1)}```"
        return slot(escape(body))

    text = _MD_CODE.sub(code, text)
    text = _MD_LINK.sub(lambda m: f"<{m.group(2)}|{m.group(1)}>", text)
    text = escape(text)
    text = _SLACK_LINK.sub(lambda m: slot(_link(m.group(1))), text)
    text = _BARE_URL.sub(lambda m: slot(m.group(0)), text)
    text = _MD_BULLET.sub(lambda m: f"{m.group(1)}• ", text)
    text = _emphasis(text, headings=True)
    return re.sub(f"{_SLOT}(\\d+){_SLOT}", lambda m: slots[int(m.group(1))], text)


def _link(inner: str) -> str:
    """A Slack link with its label's emphasis converted; its URL is never touched."""
    url, bar, label = inner.partition("|")
    return f"<{url}{bar}{_emphasis(label)}>"


def _emphasis(text: str, headings: bool = False) -> str:
    text = _MD_BOLD_ITALIC.sub(lambda m: f"{_BOLD}{_ITALIC}{m.group(1)}{_ITALIC}{_BOLD}", text)
    text = _MD_BOLD.sub(lambda m: f"{_BOLD}{m.group(1) or m.group(2)}{_BOLD}", text)
    if headings:
        # A heading is bold already: bold inside it would only close and reopen it.
        text = _MD_HEADING.sub(lambda m: f"{_BOLD}{m.group(1).replace(_BOLD, '')}{_BOLD}", text)
    text = _MD_ITALIC.sub(lambda m: f"{_ITALIC}{m.group(1) or m.group(2)}{_ITALIC}", text)
    text = _MD_STRIKE.sub(lambda m: f"~{m.group(1)}~", text)
    return text.replace(_BOLD, "*").replace(_ITALIC, "_")


def from_mrkdwn(text: str) -> str:
    """Slack's *bold* as Markdown's **bold**: what a person writes in Slack, stored as every channel reads it.

    Code is left as written.
    """
    codes: list[str] = []

    def keep(match: re.Match[str]) -> str:
        codes.append(match.group(0))
        return f"{_SLOT}{len(codes) - 1}{_SLOT}"

    text = _MRKDWN_BOLD.sub(lambda m: f"**{m.group(1)}**", _MD_CODE.sub(keep, text))
    return re.sub(f"{_SLOT}(\\d+){_SLOT}", lambda m: codes[int(m.group(1))], text)


def split_text(text: str, limit: int) -> list[str]:
    """Pieces of at most `limit` characters, cut at a paragraph, then a line, a sentence, a word."""
    text = text.strip()
    pieces: list[str] = []
    while len(text) > limit:
        window = text[: limit + 1]
        cut = _best_cut(window, limit)
        head, text = text[:cut].rstrip(), text[cut:].lstrip()
        pieces.append(head)
    if text:
        pieces.append(text)
    return pieces


def _best_cut(window: str, limit: int) -> int:
    floor = limit // 3  # never leave a sliver: a cut this early means the text has no better place
    for separator in ("\n\n", "\n"):
        at = window.rfind(separator, floor, limit)
        if at > 0:
            return at + len(separator)
    sentence = max((m.end() for m in re.finditer(r"[.!?…](?=\s)", window[:limit])), default=0)
    if sentence > floor:
        return sentence
    space = window.rfind(" ", floor, limit)
    if space > 0:
        return space + 1
    # No space at all (a long link): cut hard, but never inside a <link>.
    opened = window.rfind("<", 0, limit)
    return opened if opened > floor and ">" not in window[opened:limit] else limit

"""Text for Slack: common Markdown into mrkdwn, Slack's control characters escaped, long text split."""

from __future__ import annotations

import re

# Links Slack renders (<https://x|label>, <mailto:…>) are kept; anything else in angle
# brackets (<!channel>, <@U123>, stray HTML) is escaped, so an answer can never ping people.
_SLACK_LINK = re.compile(r"<((?:https?|mailto):[^<>\s|]+(?:\|[^<>]*)?)>")
_MD_LINK = re.compile(r"\[([^\]\n]+)\]\(((?:https?|mailto):[^)\s]+)\)")
_MD_BOLD = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*|__(?=\S)(.+?)(?<=\S)__")
_MD_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)
_MD_BULLET = re.compile(r"^(\s*)[-*]\s+", re.MULTILINE)
_ENTITY = re.compile(r"&(?!(?:amp|lt|gt);)")


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
    """Markdown a model may write anyway (**bold**, [label](url), # headings, - bullets) as mrkdwn."""
    text = _MD_LINK.sub(lambda m: f"<{m.group(2)}|{m.group(1)}>", text)
    text = escape(text)
    text = _MD_BOLD.sub(lambda m: f"*{m.group(1) or m.group(2)}*", text)
    text = _MD_HEADING.sub(lambda m: f"*{m.group(1)}*", text)
    return _MD_BULLET.sub(lambda m: f"{m.group(1)}• ", text)


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

"""Text as people send it, made safe to store and checked once for every channel. Pure: no I/O.

JSON can carry a lone UTF-16 surrogate ("\\ud800") and form or JSON bodies a NUL: neither
encodes into SQLite or PostgreSQL text. Both are dropped or replaced so the message is kept.
"""

from __future__ import annotations

import re
import unicodedata

REPLACEMENT = "\ufffd"
_SURROGATE = re.compile("[\ud800-\udfff]")
# Shown as nothing, though not whitespace to str.isspace: fillers and variation selectors.
_INVISIBLE = frozenset("\u034f\u115f\u1160\u17b4\u17b5\u2800\u3164\uffa0").union(
    map(chr, range(0xFE00, 0xFE10)), map(chr, range(0xE0100, 0xE01F0))
)


def clean(text: str) -> str:
    """`text` with each lone surrogate as U+FFFD and without NUL characters."""
    return _SURROGATE.sub(REPLACEMENT, text).replace("\x00", "")


def is_blank(text: str) -> bool:
    """True when a reader would see nothing: whitespace, controls, zero-width and other invisible characters only."""
    return all(_invisible(ch) for ch in text)


def _invisible(ch: str) -> bool:
    # Cc controls, Cf formats (zero-width space and joiners, BOM, bidi marks, tags), Z* separators.
    return ch.isspace() or ch in _INVISIBLE or unicodedata.category(ch) in ("Cc", "Cf", "Zs", "Zl", "Zp")


# Why a text was refused, for a channel to answer in its own words.
EMPTY = "empty"
TOO_LONG = "too_long"


class InvalidMessage(ValueError):
    """The message cannot be accepted (empty, too long); nothing was stored."""

    def __init__(self, message: str, reason: str = "invalid") -> None:
        super().__init__(message)
        self.reason = reason


def checked_text(text: str, max_chars: int) -> str:
    """`text` cleaned and stripped, or InvalidMessage when nothing shows or it is over `max_chars`."""
    text = clean(text).strip()
    if is_blank(text):
        raise InvalidMessage("text must not be empty", EMPTY)
    if len(text) > max_chars:
        raise InvalidMessage(f"text is longer than {max_chars} characters", TOO_LONG)
    return text

"""Tokenizing for retrieval: lowercase words, stop words dropped, a light suffix stemmer."""

from __future__ import annotations

import re

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")

STOP_WORDS = frozenset(
    """a an and are as at be been but by can could did do does for from get got had has have
    hi hello how i i'm if in into is it it's its me my of on or our please so than that the
    their them then there these they this to too up us was we were what when where which who
    why will with would you your yours just any some""".split()
)


def stem(word: str) -> str:
    # Enough to match "returns"/"returning"/"returned" with "return"; not a full stemmer.
    for suffix in ("ing", "ed", "es", "s"):
        if len(word) > len(suffix) + 2 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def tokens(text: str) -> list[str]:
    return [stem(w) for w in _WORD.findall(text.lower()) if w not in STOP_WORDS]

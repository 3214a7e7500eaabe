"""Words for search: case-folded, stop words dropped, and a light stemmer for ranking.

One tokenizer for everything that matches a customer's words against text: the knowledge
search ranks with it, and the local model matches the catalog with it.
"""

from __future__ import annotations

import re
from functools import lru_cache

# Letters and digits of any script; an apostrophe joins "it's" and "don't".
_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)?")
MAX_WORD_CHARS = 64

STOP_WORDS = frozenset(
    """a an and are as at be been but by can could did do does for from get got had has have
    hi hello how i i'm if in into is it it's its me my of on or our please so than that the
    their them then there these they this to too up us was we were what when where which who
    why will with would you your yours just any some what's where's who's how's that's there's
    here's i've i'd i'll you're we're""".split()
)
# How people write to a shop without saying what about: dropped from searches, so that a
# question is weighed by its subject ("tent pole", "refund"), not by "hey guys i literally need".
CHAT_FILLER = frozenset(
    """u ur ya yeah yes ok okay hey guys pls plz thanks thank thx im ive id dont cant wont didnt
    doesnt isnt want wanted need needs like know tell let really literally also still already
    actually anyone someone something anything thing things way bit lot much many very""".split()
)


@lru_cache(maxsize=65536)  # ranking stems every word of every candidate, on every search
def stem(word: str) -> str:
    # Enough to match "returns"/"returning"/"returned" with "return"; not a full stemmer.
    if word.endswith("'s"):
        word = word[:-2]  # a possessive: "car's" is "car"
    for suffix in ("ing", "ed", "es", "s"):
        if len(word) > len(suffix) + 2 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def words(text: str) -> list[str]:
    """The words that carry meaning, in order, unstemmed (what a full-text index is asked for)."""
    return [w[:MAX_WORD_CHARS] for w in _WORD.findall(text.casefold()) if w not in STOP_WORDS and w not in CHAT_FILLER]


def tokens(text: str) -> list[str]:
    return [stem(w) for w in words(text)]

"""Noisy copies of training examples: dropped words, swapped neighbours and typos.

Customers write "wheres my oder", skip words and jumble them; a classifier that learns from
such copies as well as the clean examples holds up on what they really type.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from string import ascii_lowercase


@dataclass(frozen=True, slots=True)
class AugmentSettings:
    word_dropout: float = 0.2  # each word of an example of 3+ words
    swap: float = 0.5  # chance of one swap of neighbouring words
    max_typos: int = 2  # 0 to this many, one per word chosen


class Augmenter:
    def __init__(self, settings: AugmentSettings = AugmentSettings(), seed: int = 0) -> None:
        self.settings = settings
        self.random = random.Random(seed)

    def _typo(self, word: str) -> str:
        if len(word) < 3:
            return word
        at = self.random.randrange(len(word))
        kind = self.random.randrange(3)
        if kind == 0:
            return word[:at] + word[at + 1:]  # a letter left out
        if kind == 1:
            return word[:at] + self.random.choice(ascii_lowercase) + word[at + 1:]  # a wrong letter
        return word[:at] + word[at] + word[at:]  # a letter doubled

    def __call__(self, text: str) -> str:
        words = text.split()
        if not words:
            return text
        if len(words) > 2:
            words = [w for w in words if self.random.random() > self.settings.word_dropout] or words
        if len(words) > 2 and self.random.random() < self.settings.swap:
            at = self.random.randrange(len(words) - 1)
            words[at], words[at + 1] = words[at + 1], words[at]
        for _ in range(self.random.randint(0, self.settings.max_typos)):
            at = self.random.randrange(len(words))
            words[at] = self._typo(words[at])
        return " ".join(words)


class Gibberish:
    """Text that is no intent at all: keyboard mashing, stray symbols, runs of random tokens.

    Taught as one more class, it keeps the network from being sure of an intent in text unlike
    anything it was trained on (another language, another script, "asdf qwer"), where it would
    otherwise extrapolate with confidence.
    """

    def __init__(self, vocabulary: list[str], known_words: set[str], seed: int = 0) -> None:
        # Not the examples' own words, and nothing with a digit: "order" or "10482" alone is a
        # customer's message, not gibberish.
        pieces = (t.removeprefix("##") for t in vocabulary if not (t.startswith("[") and t.endswith("]")))
        self.tokens = [p for p in pieces if p not in known_words and not any(c.isdigit() for c in p)]
        self.random = random.Random(seed)

    def __call__(self) -> str:
        pick, count = self.random, self.random.randint(2, 8)
        kind = pick.randrange(3)
        if kind == 0:  # random pieces of the transformer's vocabulary: every script it knows
            joiner = pick.choice(["", " "])
            return joiner.join(pick.choice(self.tokens) for _ in range(count))
        if kind == 1:  # keyboard mashing
            return " ".join("".join(pick.choice(ascii_lowercase) for _ in range(pick.randint(2, 7))) for _ in range(count))
        symbols = "!?.,;:-*#@&%$+=~^()[]{}<>/\\|'\" "  # no digits: a bare number may be an order's
        if pick.random() < 0.5:  # "!!!", "???"
            return pick.choice(symbols) * count
        return "".join(pick.choice(symbols) for _ in range(count))

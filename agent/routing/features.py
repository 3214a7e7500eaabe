"""Sparse TF-IDF features: word unigrams and bigrams plus character n-grams.

Character n-grams make the classifier tolerant of the typos real customers make.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable

_WORD = re.compile(r"[a-z0-9]+")
_DIGITS = re.compile(r"\d")

Vector = dict[str, float]


def terms(text: str) -> list[str]:
    # Digits collapse to one symbol: order numbers differ, their shape is the signal.
    words = _WORD.findall(_DIGITS.sub("0", text.lower()))
    terms = [f"w:{w}" for w in words]
    terms += [f"b:{a} {b}" for a, b in zip(words, words[1:])]
    for word in words:
        padded = f" {word} "
        for n in (3, 4, 5):
            terms += [f"c:{padded[i:i + n]}" for i in range(len(padded) - n + 1)]
    return terms


def normalize(vector: Vector) -> Vector:
    norm = math.sqrt(sum(v * v for v in vector.values()))
    return {k: v / norm for k, v in vector.items()} if norm else vector


class TfidfVectorizer:
    def __init__(self) -> None:
        self.idf: dict[str, float] = {}

    def fit(self, texts: Iterable[str]) -> "TfidfVectorizer":
        documents = [set(terms(t)) for t in texts]
        frequency: Counter[str] = Counter()
        for doc in documents:
            frequency.update(doc)
        n = len(documents)
        self.idf = {term: math.log((1 + n) / (1 + df)) + 1 for term, df in frequency.items()}
        return self

    def transform(self, text: str) -> Vector:
        counts = Counter(terms(text))
        # Sublinear tf; terms never seen in training carry no signal and are dropped.
        return normalize({t: (1 + math.log(c)) * self.idf[t] for t, c in counts.items() if t in self.idf})

"""A nearest-centroid classifier over TF-IDF features, trained from intent examples."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from agent.routing.features import TfidfVectorizer, Vector, normalize


@dataclass(frozen=True, slots=True)
class Scored:
    intent: str
    score: float


class CentroidClassifier:
    """Cosine similarity to each intent's mean example vector; trains in milliseconds."""

    def __init__(self) -> None:
        self.vectorizer = TfidfVectorizer()
        self.centroids: dict[str, Vector] = {}
        # term -> [(intent, weight)]: scoring touches only the query's terms.
        self._postings: dict[str, list[tuple[str, float]]] = {}

    def fit(self, examples: list[tuple[str, str]], out_of_scope: Sequence[str] = ()) -> "CentroidClassifier":
        """Train on (text, intent) pairs. A centroid has no negatives: `out_of_scope` is not used."""
        self.vectorizer.fit(text for text, _ in examples)
        sums: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
        for text, intent in examples:
            for term, weight in self.vectorizer.transform(text).items():
                sums[intent][term] += weight
        self.centroids = {intent: normalize(dict(vec)) for intent, vec in sums.items()}
        postings: dict[str, list[tuple[str, float]]] = defaultdict(list)
        for intent, centroid in self.centroids.items():
            for term, weight in centroid.items():
                postings[term].append((intent, weight))
        self._postings = dict(postings)
        return self

    def predict(self, text: str) -> tuple[str, float]:
        ranked = self.scores(text)
        return (ranked[0].intent, ranked[0].score) if ranked else ("", 0.0)

    def scores(self, text: str) -> list[Scored]:
        totals: dict[str, float] = defaultdict(float)
        for term, weight in self.vectorizer.transform(text).items():
            for intent, centroid_weight in self._postings.get(term, ()):
                totals[intent] += weight * centroid_weight
        ranked = sorted(totals.items(), key=lambda item: item[1], reverse=True)
        return [Scored(intent, score) for intent, score in ranked]

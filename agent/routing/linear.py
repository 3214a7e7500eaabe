"""A linear intent classifier: trained by scikit-learn, decided by a lean numpy path.

scikit-learn's own per-call path costs milliseconds (input validation, sparse matrices); here a
decision is one pass over the query's n-grams and a gather-sum of their weight rows.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from agent.routing.classifier import Scored
from agent.routing.features import terms


@dataclass(frozen=True, slots=True)
class LinearSettings:
    C: float = 1.0
    loss: str = "squared_hinge"
    # Margins are squashed to a 0-1 confidence, sigmoid(sharpness * margin): 0.5 is the
    # SVM's own decision boundary, and thresholds in config read as confidences.
    sharpness: float = 3.0


# The label out-of-scope examples train under; no intent can be named so.
_NO_INTENT = "\x00no intent"


def require_two_intents(examples: list[tuple[str, str]]) -> None:
    """A classifier tells intents apart: with fewer than two there is nothing to learn."""
    intents = {intent for _, intent in examples}
    if len(intents) < 2:
        raise ValueError(f"the router needs examples of at least two intents, not {len(intents)}")


class LinearIntentClassifier:
    def __init__(self, settings: LinearSettings = LinearSettings()) -> None:
        self.settings = settings
        self.index: dict[str, int] = {}
        self.idf = np.zeros(0, dtype=np.float32)
        self.weights = np.zeros((0, 0), dtype=np.float32)
        self.bias = np.zeros(0, dtype=np.float32)
        self.intents: list[str] = []

    def _vector(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        return self._weigh(Counter(t for t in terms(text) if t in self.index))

    def _weigh(self, counts: Counter[str]) -> tuple[np.ndarray, np.ndarray]:
        """Normalised sublinear TF-IDF of counts whose every term is in the index."""
        if not counts:
            return np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.float32)
        columns = np.fromiter((self.index[t] for t in counts), dtype=np.intp, count=len(counts))
        tf = np.fromiter((1.0 + math.log(c) for c in counts.values()), dtype=np.float32, count=len(counts))
        values = tf * self.idf[columns]
        return columns, values / np.linalg.norm(values)

    def fit(self, examples: list[tuple[str, str]], out_of_scope: Sequence[str] = ()) -> "LinearIntentClassifier":
        """Train on (text, intent) pairs; `out_of_scope` texts are no intent at all.

        One-vs-rest, each out-of-scope text is one more negative for every intent, so text
        like them gets low margins everywhere; their own class is dropped after training.
        """
        from scipy.sparse import csr_matrix
        from sklearn.svm import LinearSVC

        require_two_intents(examples)
        examples = list(examples) + [(text, _NO_INTENT) for text in out_of_scope]
        documents = [Counter(terms(text)) for text, _ in examples]
        frequency: Counter[str] = Counter()
        for doc in documents:
            frequency.update(doc.keys())
        self.index = {term: i for i, term in enumerate(sorted(frequency))}
        n = len(documents)
        self.idf = np.array(
            [math.log((1 + n) / (1 + frequency[t])) + 1 for t in sorted(frequency)], dtype=np.float32
        )
        rows, cols, vals = [], [], []
        for row, doc in enumerate(documents):  # every training term is indexed: no second split
            columns, values = self._weigh(doc)
            rows.extend([row] * len(columns))
            cols.extend(columns.tolist())
            vals.extend(values.tolist())
        matrix = csr_matrix((vals, (rows, cols)), shape=(n, len(self.index)), dtype=np.float32)
        labels = [intent for _, intent in examples]
        model = LinearSVC(C=self.settings.C, loss=self.settings.loss, random_state=0).fit(matrix, labels)
        classes = [str(c) for c in model.classes_]
        coef = model.coef_ if len(classes) > 2 else np.vstack([-model.coef_[0], model.coef_[0]])
        intercept = model.intercept_ if len(classes) > 2 else np.array([-model.intercept_[0], model.intercept_[0]])
        kept = [i for i, c in enumerate(classes) if c != _NO_INTENT]
        self.intents = [classes[i] for i in kept]
        self.weights = np.ascontiguousarray(coef[kept].T, dtype=np.float32)  # (features, intents)
        self.bias = intercept[kept].astype(np.float32)
        return self

    def _decision(self, text: str) -> np.ndarray:
        columns, values = self._vector(text)
        if len(columns) == 0:
            return self.bias.copy()
        # Elementwise and a sum, not `@`: a BLAS call this small gains nothing, and BLAS worker
        # threads spinning beside the server's event loop cost a 2-core machine real time.
        return (self.weights[columns] * values[:, None]).sum(axis=0) + self.bias

    def _confidence(self, margin: float) -> float:
        return 1.0 / (1.0 + math.exp(-self.settings.sharpness * margin))

    def predict(self, text: str) -> tuple[str, float]:
        scores = self._decision(text)
        best = int(scores.argmax())
        return self.intents[best], self._confidence(float(scores[best]))

    def scores(self, text: str) -> list[Scored]:
        scores = self._decision(text)
        order = np.argsort(-scores)
        return [Scored(self.intents[i], self._confidence(float(scores[i]))) for i in order]

    def to_arrays(self) -> dict[str, np.ndarray]:
        terms_in_order = sorted(self.index, key=self.index.__getitem__)
        return {
            "terms": np.array(terms_in_order, dtype=object).astype(str),
            "idf": self.idf,
            "weights": self.weights,
            "bias": self.bias,
            "intents": np.array(self.intents, dtype=str),
            "settings": np.array([self.settings.C, self.settings.sharpness], dtype=np.float64),
        }

    @classmethod
    def from_arrays(cls, data: Mapping[str, np.ndarray]) -> "LinearIntentClassifier":
        C, sharpness = (float(v) for v in data["settings"])
        model = cls(LinearSettings(C=C, sharpness=sharpness))
        model.index = {str(term): i for i, term in enumerate(data["terms"])}
        model.idf = data["idf"]
        model.weights = data["weights"]
        model.bias = data["bias"]
        model.intents = [str(i) for i in data["intents"]]
        return model

    def save(self, path: Path) -> None:
        """Write the trained model; `load` reads it back without scikit-learn."""
        with path.open("wb") as out:
            np.savez(out, **self.to_arrays())

    @classmethod
    def load(cls, path: Path) -> "LinearIntentClassifier":
        with np.load(path, allow_pickle=False) as data:
            return cls.from_arrays(data)

"""The semantic classifier: the linear SVM fused with an MLP over distilled static word vectors.

Training distils all-MiniLM-L6-v2 into static vectors (one per WordPiece token, and one per word
seen in the examples) and trains a small MLP on two pooled views of an utterance: the mean of its
word vectors and the mean of its token vectors. A decision is the SVM's lean path plus a few
numpy lookups and two small matrix products: no transformer, torch or tokenizer library per call.
Its confidence is the top softmax probability of `mlp logits + svm_weight * svm margins`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from agent.routing.classifier import Scored
from agent.routing.distill import Distilled, MlpSettings, distill, require_extra, train_mlp
from agent.routing.linear import LinearIntentClassifier
from agent.routing.wordpiece import WordPiece, basic_words

_GELU = math.sqrt(2 / math.pi)


def _unit(vector: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm else vector


class StaticEmbedder:
    """An utterance as [mean of word vectors, mean of token vectors], each of unit length."""

    def __init__(self, distilled: Distilled) -> None:
        self.distilled = distilled
        self.wordpiece = WordPiece(distilled.vocabulary)
        self.tokens = distilled.tokens.astype(np.float32)
        norms = np.linalg.norm(self.tokens, axis=1, keepdims=True)
        self.unit_tokens = self.tokens / np.where(norms > 0, norms, 1.0)
        self.word_index = {word: i for i, word in enumerate(distilled.words)}
        self.word_vectors = distilled.word_vectors.astype(np.float32)
        self.dimensions = 2 * self.tokens.shape[1]

    def features(self, text: str) -> np.ndarray:
        words = basic_words(text)
        if not words:
            return np.zeros(self.dimensions, dtype=np.float32)
        pieces = [self.wordpiece.pieces(word) for word in words]
        known = [self.word_index.get(word) for word in words]
        word_rows = [i for i in known if i is not None]
        word_sum = self.word_vectors[word_rows].sum(axis=0) if word_rows else np.zeros(self.tokens.shape[1], np.float32)
        for index, ids in zip(known, pieces):
            if index is None:  # a word the examples never used: spelled from its pieces
                word_sum = word_sum + _unit(self.unit_tokens[ids].mean(axis=0))
        all_ids = [i for ids in pieces for i in ids]
        token_mean = self.tokens[all_ids].mean(axis=0)
        return np.concatenate([_unit(word_sum), _unit(token_mean)]).astype(np.float32)


@dataclass(frozen=True, slots=True)
class SemanticSettings:
    # How much the SVM's margins count against the MLP's logits; chosen on CLINC150's val split.
    svm_weight: float = 2.0
    mlp: MlpSettings = field(default_factory=MlpSettings)


class SemanticIntentClassifier:
    def __init__(self, settings: SemanticSettings = SemanticSettings()) -> None:
        self.settings = settings
        self.svm_weight = settings.svm_weight
        self.linear = LinearIntentClassifier()
        self.embedder: StaticEmbedder | None = None
        self.layers: list[np.ndarray] = []

    @property
    def intents(self) -> list[str]:
        return self.linear.intents

    def fit(self, examples: list[tuple[str, str]]) -> "SemanticIntentClassifier":
        require_extra()  # before the SVM's seconds of training, not after
        self.linear.fit(examples)
        words = sorted({word for text, _ in examples for word in basic_words(text)})
        self.embedder = StaticEmbedder(distill(words))
        features = np.stack([self.embedder.features(text) for text, _ in examples])
        position = {intent: i for i, intent in enumerate(self.linear.intents)}
        labels = np.array([position[intent] for _, intent in examples])
        self.layers = train_mlp(features, labels, len(position), self.settings.mlp)
        return self

    def _probabilities(self, text: str) -> np.ndarray:
        assert self.embedder is not None, "fit or load the classifier first"
        w1, b1, w2, b2 = self.layers
        # einsum, not `@`: numpy's own loop, never BLAS, whose worker threads make the tail
        # latency wait on whatever else the machine's cores are doing.
        hidden = np.einsum("i,ij->j", self.embedder.features(text), w1) + b1
        hidden = 0.5 * hidden * (1.0 + np.tanh(_GELU * (hidden + 0.044715 * hidden**3)))
        logits = np.einsum("i,ij->j", hidden, w2) + b2 + self.svm_weight * self.linear._decision(text)
        logits = np.exp(logits - logits.max())
        return logits / logits.sum()

    def predict(self, text: str) -> tuple[str, float]:
        probabilities = self._probabilities(text)
        best = int(probabilities.argmax())
        return self.intents[best], float(probabilities[best])

    def scores(self, text: str) -> list[Scored]:
        probabilities = self._probabilities(text)
        return [Scored(self.intents[i], float(probabilities[i])) for i in np.argsort(-probabilities)]

    def save(self, path: Path) -> None:
        """One .npz: the SVM's arrays, the distilled vectors (float16 halves the file) and the MLP."""
        assert self.embedder is not None, "fit the classifier first"
        distilled = self.embedder.distilled
        arrays = {f"linear_{key}": value for key, value in self.linear.to_arrays().items()}
        with path.open("wb") as out:
            np.savez(
                out,
                **arrays,
                vocabulary=np.array(distilled.vocabulary, dtype=str),
                tokens=distilled.tokens.astype(np.float16),
                words=np.array(distilled.words, dtype=str),
                word_vectors=distilled.word_vectors.astype(np.float16),
                svm_weight=np.array([self.svm_weight]),
                **{f"layer{i}": layer for i, layer in enumerate(self.layers)},
            )

    @classmethod
    def load(cls, path: Path) -> "SemanticIntentClassifier":
        with np.load(path, allow_pickle=False) as data:
            model = cls()
            model.linear = LinearIntentClassifier.from_arrays(
                {key.removeprefix("linear_"): data[key] for key in data.files if key.startswith("linear_")}
            )
            model.svm_weight = float(data["svm_weight"][0])
            model.embedder = StaticEmbedder(Distilled(
                [str(t) for t in data["vocabulary"]], data["tokens"].astype(np.float32),
                [str(w) for w in data["words"]], data["word_vectors"].astype(np.float32),
            ))
            model.layers = [data[f"layer{i}"] for i in range(4)]
        return model

"""The semantic classifier: the linear SVM fused with a convolution over distilled token vectors.

Training distils all-MiniLM-L6-v2 into static vectors (one per WordPiece token, and one per word
seen in the examples) and trains a small convolutional network (`agent.routing.training.student`) on the
utterance's token vectors in order, with two pooled views beside them: the mean of its word
vectors and the mean of its token vectors. A decision is the SVM's lean path, a WordPiece split,
a few numpy lookups and three small products: no transformer, torch or tokenizer library per
call. Its confidence is the top softmax probability of `network logits + svm_weight * svm margins`,
times the network's belief that the text is an intent at all (it also learns the out-of-scope
examples and gibberish as one more class, so text unlike any example scores near 0 instead of
being guessed at).
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from agent.routing.training.augment import Gibberish
from agent.routing.classifier import Scored
from agent.routing.training.distill import Distilled, distill, require_extra
from agent.routing.linear import LinearIntentClassifier, LinearSettings, require_two_intents
from agent.routing.training.student import ConvStudent
from agent.routing.training.student_fit import StudentSettings, export, fit_network
from agent.routing.training.wordpiece import WordPiece, basic_words

# The convolution reads a message up to here (an intent shows in its first sentences); the
# pooled vectors and the SVM read all of it.
MAX_TOKENS = 64


def _softmax(logits: np.ndarray) -> np.ndarray:
    exp = np.exp(logits - logits.max())
    return exp / exp.sum()


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

    def read(self, text: str) -> tuple[list[int], np.ndarray]:
        """The utterance's token ids (at most MAX_TOKENS; [UNK] alone if none) and its pooled vector."""
        words = basic_words(text)
        if not words:
            return [self.wordpiece.unknown], np.zeros(self.dimensions, dtype=np.float32)
        pieces = [self.wordpiece.pieces(word) for word in words]
        known = [self.word_index.get(word) for word in words]
        word_rows = [i for i in known if i is not None]
        word_sum = self.word_vectors[word_rows].sum(axis=0) if word_rows else np.zeros(self.tokens.shape[1], np.float32)
        for index, ids in zip(known, pieces):
            if index is None:  # a word the examples never used: spelled from its pieces
                word_sum = word_sum + _unit(self.unit_tokens[ids].mean(axis=0))
        all_ids = [i for ids in pieces for i in ids]
        token_mean = self.tokens[all_ids].mean(axis=0)
        return all_ids[:MAX_TOKENS], np.concatenate([_unit(word_sum), _unit(token_mean)]).astype(np.float32)


@dataclass(frozen=True, slots=True)
class SemanticSettings:
    # How much the SVM's margins count against the network's logits, and the SVM's C (less
    # regularised than the linear classifier's own: beside the network, a closer fit helps);
    # both chosen on CLINC150's val split.
    svm_weight: float = 1.0
    svm_c: float = 3.0
    student: StudentSettings = field(default_factory=StudentSettings)


class SemanticIntentClassifier:
    def __init__(self, settings: SemanticSettings = SemanticSettings(), cache_dir: Path | None = None) -> None:
        self.settings = settings
        self.svm_weight = settings.svm_weight
        self.cache_dir = cache_dir  # where the transformer's token vectors are kept between trainings
        self.linear = LinearIntentClassifier(LinearSettings(C=settings.svm_c))
        self.embedder: StaticEmbedder | None = None
        self.student: ConvStudent | None = None

    @property
    def intents(self) -> list[str]:
        return self.linear.intents

    def fit(self, examples: list[tuple[str, str]], out_of_scope: Sequence[str] = ()) -> "SemanticIntentClassifier":
        """Train on (text, intent) pairs; `out_of_scope` texts are taught as no intent at all."""
        require_two_intents(examples)  # before any of the training's seconds, not after
        require_extra()
        # liblinear lets go of the GIL: the SVM trains on a thread beside the transformer and the
        # network, which leave a core idle whenever Python prepares their next batch.
        with ThreadPoolExecutor(1) as pool:
            svm = pool.submit(self.linear.fit, examples, out_of_scope)
            texts = [text for text, _ in examples] + list(out_of_scope)
            words = sorted({word for text in texts for word in basic_words(text)})
            distilled = distill(words, self.cache_dir)
            self.embedder = StaticEmbedder(distilled)
            intents = sorted({intent for _, intent in examples})  # the SVM's classes_, in its order
            position = {intent: i for i, intent in enumerate(intents)}
            # Each token is read as both its distilled vector and the transformer's input
            # embedding: they disagree on different pairs of intents.
            table = np.concatenate([distilled.tokens, distilled.embeddings], axis=1)
            settings = self.settings.student
            network = fit_network(
                [(text, position[intent]) for text, intent in examples], len(position), table,
                self.embedder.read, settings, Gibberish(distilled.vocabulary, set(words), settings.seed + 2),
                list(out_of_scope),
            )
            self.student = export(network, settings)
            svm.result()
        assert self.linear.intents == intents, "the SVM and the network must count intents alike"
        return self

    def _probabilities(self, text: str) -> np.ndarray:
        """Each intent's probability; what is left to 1 is the network's belief in no intent at all."""
        assert self.embedder is not None and self.student is not None, "fit or load the classifier first"
        network = self.student.logits(*self.embedder.read(text))
        intents = len(self.intents)
        probabilities = _softmax(network[:intents] + self.svm_weight * self.linear._decision(text))
        if len(network) > intents:
            probabilities *= 1.0 - _softmax(network)[intents]
        return probabilities

    def predict(self, text: str) -> tuple[str, float]:
        probabilities = self._probabilities(text)
        best = int(probabilities.argmax())
        return self.intents[best], float(probabilities[best])

    def scores(self, text: str) -> list[Scored]:
        probabilities = self._probabilities(text)
        return [Scored(self.intents[i], float(probabilities[i])) for i in np.argsort(-probabilities)]

    def save(self, path: Path) -> None:
        """One .npz: the SVM's arrays, the distilled vectors (float16 halves the file) and the network."""
        assert self.embedder is not None and self.student is not None, "fit the classifier first"
        distilled = self.embedder.distilled
        arrays = {f"linear_{key}": value for key, value in self.linear.to_arrays().items()}
        arrays |= {f"student_{key}": value for key, value in self.student.to_arrays().items()}
        with path.open("wb") as out:
            np.savez(
                out,
                **arrays,
                vocabulary=np.array(distilled.vocabulary, dtype=str),
                tokens=distilled.tokens.astype(np.float16),
                words=np.array(distilled.words, dtype=str),
                word_vectors=distilled.word_vectors.astype(np.float16),
                svm_weight=np.array([self.svm_weight]),
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
                np.zeros((0, 0), dtype=np.float32),  # only training reads the input embeddings
            ))
            model.student = ConvStudent.from_arrays(
                {key.removeprefix("student_"): data[key] for key in data.files if key.startswith("student_")}
            )
        return model

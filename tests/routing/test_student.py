"""The convolution student: numpy decides exactly as the torch network it was exported from."""

from __future__ import annotations

import importlib.util
import zlib

import numpy as np
import pytest

from agent.routing.training.augment import Augmenter
from agent.routing.training.student_fit import StudentSettings, export, fit_network
from tests.support.services import unavailable

VOCABULARY = 500
POOLED = 8
EXAMPLES = [
    ("where is my order", 0), ("has my parcel shipped yet", 0), ("order status nw10482", 0),
    ("do you sell red hats", 1), ("how much are the boots", 1), ("i want to buy two scarves", 1),
    ("my card was charged twice", 2), ("the box arrived broken and i am upset", 2), ("refund please", 2),
]


def _featurize(text: str) -> tuple[list[int], np.ndarray]:
    """Token ids from a stable hash of each word, and a pooled vector drawn from the text."""
    ids = [zlib.crc32(word.encode()) % VOCABULARY for word in text.split()] or [0]
    pooled = np.random.default_rng(zlib.crc32(text.encode())).standard_normal(POOLED).astype(np.float32)
    return ids, pooled


@pytest.fixture(scope="module")
def trained() -> tuple[object, StudentSettings]:
    if importlib.util.find_spec("torch") is None:
        unavailable("the semantic extra is not installed: pip install 'switchboard[semantic]'")
    table = np.random.default_rng(0).standard_normal((VOCABULARY, 768)).astype(np.float32)
    settings = StudentSettings(projection=16, filters=8, hidden=32, min_steps=40, batch_size=4)
    return fit_network(EXAMPLES, 3, table, _featurize, settings), settings


@pytest.mark.parametrize("text", ["refund", "where is my order", "i want a refund for the red hats that never shipped to me"])
def test_numpy_logits_match_the_torch_network(trained: tuple[object, StudentSettings], text: str) -> None:
    import torch

    net, settings = trained
    student = export(net, settings)
    ids, pooled = _featurize(text)
    with torch.inference_mode():
        expected = net(torch.tensor([ids]), torch.ones(1, len(ids), dtype=torch.bool), torch.from_numpy(pooled[None]))[0].numpy()
    np.testing.assert_allclose(student.logits(ids, pooled), expected, rtol=1e-4, atol=1e-5)


def test_padding_in_a_batch_does_not_change_a_row(trained: tuple[object, StudentSettings]) -> None:
    """Training batches pad short rows; a padded row must score as it does alone."""
    import torch

    net, _ = trained
    short, long = _featurize("refund please"), _featurize("the box arrived broken and i am upset")
    ids = torch.zeros(2, len(long[0]), dtype=torch.long)
    mask = torch.zeros(2, len(long[0]), dtype=torch.bool)
    for row, (token_ids, _) in enumerate((short, long)):
        ids[row, :len(token_ids)] = torch.tensor(token_ids)
        mask[row, :len(token_ids)] = True
    with torch.inference_mode():
        batched = net(ids, mask, torch.from_numpy(np.stack([short[1], long[1]])))[0]
        alone = net(torch.tensor([short[0]]), torch.ones(1, len(short[0]), dtype=torch.bool), torch.from_numpy(short[1][None]))[0]
    torch.testing.assert_close(batched, alone, rtol=1e-4, atol=1e-5)


def test_the_network_learns_its_examples(trained: tuple[object, StudentSettings]) -> None:
    net, settings = trained
    student = export(net, settings)
    right = sum(int(student.logits(*_featurize(text)).argmax()) == label for text, label in EXAMPLES)
    assert right >= len(EXAMPLES) - 1, right


def test_filters_wider_than_the_window_are_refused() -> None:
    if importlib.util.find_spec("torch") is None:
        unavailable("the semantic extra is not installed: pip install 'switchboard[semantic]'")
    table = np.zeros((VOCABULARY, 768), dtype=np.float32)
    with pytest.raises(ValueError, match="at most 3 tokens wide"):
        fit_network(EXAMPLES, 3, table, _featurize, StudentSettings(widths=(4,)))


def test_noisy_copies_are_repeatable_and_never_empty() -> None:
    texts = [t for t in ["where is my order", "refund", "the box arrived broken and i am upset"] for _ in range(20)]
    augment, again = Augmenter(seed=3), Augmenter(seed=3)
    first = [augment(t) for t in texts]
    assert first == [again(t) for t in texts]
    assert all(copy.split() for copy in first)
    assert len(set(first[:20])) > 5, first[:20]  # copies differ from the example and each other
    assert Augmenter(seed=3)("") == ""


def test_noisy_copies_are_taught_partly_by_the_mean_teacher(trained: tuple[object, StudentSettings]) -> None:
    import torch

    from agent.routing.training.student_fit import _targets

    teacher, settings = trained
    texts = [("refund please", 2, False), ("refnd pls", 2, True), ("where my order", 0, True)]
    read = [_featurize(t) for t, _, _ in texts]
    longest = max(len(ids) for ids, _ in read)
    ids = torch.zeros(len(read), longest, dtype=torch.long)
    mask = torch.zeros(len(read), longest, dtype=torch.bool)
    for row, (token_ids, _) in enumerate(read):
        ids[row, :len(token_ids)], mask[row, :len(token_ids)] = torch.tensor(token_ids), True
    inputs = (ids, mask, torch.from_numpy(np.stack([p for _, p in read])))
    target = _targets(texts, inputs, teacher, 3, settings, bfloat16=False)
    smoothed = torch.full((3,), settings.label_smoothing / 3) + torch.eye(3) * (1 - settings.label_smoothing)
    torch.testing.assert_close(target[0], smoothed[2])  # a clean example: its label alone
    with torch.inference_mode():
        believed = teacher(*inputs).softmax(-1)
    share = settings.teacher_share
    for row, label in ((1, 2), (2, 0)):
        torch.testing.assert_close(target[row], (1 - share) * smoothed[label] + share * believed[row])
    torch.testing.assert_close(target.sum(-1), torch.ones(3))
    assert _targets(texts, inputs, teacher, 3, StudentSettings(teacher_share=0.0), False)[1].tolist() == pytest.approx(smoothed[2].tolist())

"""Choosing the out-of-scope threshold from scored val rows."""

from __future__ import annotations

import pytest

from agent.routing.evaluation.datasets import OUT_OF_SCOPE, Example
from agent.routing.evaluation.evaluate import choose_threshold


def _scored(rows: list[tuple[str, str, float]]) -> list[tuple[Example, str, float]]:
    """(gold intent, predicted intent, confidence) as scored val rows."""
    return [(Example(f"text {i}", gold, "val"), predicted, confidence) for i, (gold, predicted, confidence) in enumerate(rows)]


def _decide(threshold: float, rows: list[tuple[Example, str, float]]) -> int:
    """How many rows a threshold gets right, out of scope counted as one more class."""
    return sum(
        (predicted if confidence >= threshold else OUT_OF_SCOPE) == example.intent
        for example, predicted, confidence in rows
    )


def test_the_default_threshold_answers_the_most_val_rows_right() -> None:
    rows = _scored([
        ("a", "a", 0.95), ("a", "a", 0.9), ("b", "b", 0.8), ("b", "b", 0.45),
        (OUT_OF_SCOPE, "a", 0.2), (OUT_OF_SCOPE, "b", 0.3), (OUT_OF_SCOPE, "a", 0.5),
        ("a", "b", 0.25),  # wrong either way: out of scope costs it nothing
    ])
    threshold = choose_threshold(rows)
    # Below 0.45 all three out-of-scope rows but one are caught and every right answer kept;
    # 0.5 would catch the third only by losing the 0.45 answer.
    assert 0.3 < threshold <= 0.45
    assert _decide(threshold, rows) == max(_decide(t, rows) for t in (0.0, 0.21, 0.31, 0.46, 0.51, 0.81, 0.91, 1.0))


def test_a_threshold_is_set_between_val_confidences_not_on_one() -> None:
    rows = _scored([("a", "a", 0.9), (OUT_OF_SCOPE, "a", 0.1), ("a", "a", 0.7)])
    assert choose_threshold(rows) == pytest.approx(0.4)  # halfway from the last out-of-scope row to the next one


def test_without_out_of_scope_rows_nothing_is_thresholded() -> None:
    assert choose_threshold(_scored([("a", "a", 0.2), ("b", "a", 0.6), ("b", "b", 0.9)])) == 0.0


def test_rows_tied_at_one_confidence_fall_together() -> None:
    # One out-of-scope row and one right answer at 0.4: no threshold separates them, and taking
    # both gains nothing, so none is set.
    assert choose_threshold(_scored([(OUT_OF_SCOPE, "a", 0.4), ("a", "a", 0.4), ("a", "a", 0.9)])) == 0.0


def test_a_capped_threshold_costs_at_most_the_drop_asked_for() -> None:
    rows = _scored([("a", "a", c / 100) for c in range(60, 100)] + [(OUT_OF_SCOPE, "a", 0.65), (OUT_OF_SCOPE, "a", 0.7)])
    threshold = choose_threshold(rows, max_accuracy_drop=0.1)  # 4 of the 40 right answers may go
    assert sum(c < threshold for e, _, c in rows if e.in_scope) == 4
    assert choose_threshold(rows, max_accuracy_drop=0.0) == 0.6

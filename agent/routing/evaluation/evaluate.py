"""Measuring a classifier the way CLINC150 does: train on train, tune on val, report on test."""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol, TypeVar

from agent.routing.evaluation.datasets import OUT_OF_SCOPE, Example

T = TypeVar("T")


class Classifier(Protocol):
    def fit(self, examples: list[tuple[str, str]], out_of_scope: Sequence[str] = ()) -> Any: ...

    def predict(self, text: str) -> tuple[str, float]: ...


@dataclass
class RouteScore:
    precision: float
    recall: float
    support: int


@dataclass
class Report:
    classifier: str
    train_examples: int
    out_of_scope_train_examples: int
    test_examples: int
    accuracy: float
    macro_f1: float
    oos_recall: float | None
    threshold: float
    unthresholded_accuracy: float
    train_s: float
    p50_ms: float
    p99_ms: float
    per_route: dict[str, RouteScore] = field(default_factory=dict)
    confusions: list[tuple[str, str, int]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["confusions"] = [{"intent": a, "predicted": b, "count": n} for a, b, n in self.confusions]
        return data


Progress = Callable[[Iterable[T], str], Iterator[T]]


def _plain(items: Iterable[T], _label: str) -> Iterator[T]:
    yield from items


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def choose_threshold(scored: list[tuple[Example, str, float]], max_accuracy_drop: float | None = None) -> float:
    """The confidence threshold below which a turn is out of scope, from scored val rows.

    By default, the one that answers most val rows right, out-of-scope counted as one more
    class: a threshold pays for each out-of-scope turn it catches with the in-scope turns it
    loses, one for one. With `max_accuracy_drop`, instead the highest threshold that costs
    in-scope accuracy at most that much.
    """
    if max_accuracy_drop is not None:
        return _capped_threshold(scored, max_accuracy_drop)
    # Sweep the thresholds from low to high: passing a row's confidence turns it out of scope,
    # which is right for an out-of-scope row and wrong for an in-scope one it had right.
    changes = sorted(
        (confidence, 1 if not e.in_scope else -1 if predicted == e.intent else 0)
        for e, predicted, confidence in scored
    )
    best_gain, best, gain = 0, 0.0, 0
    for i, (confidence, change) in enumerate(changes):
        gain += change
        following = changes[i + 1][0] if i + 1 < len(changes) else math.inf
        if gain > best_gain and following > confidence:  # rows tied at a confidence go together
            best_gain = gain
            # Halfway to the next confidence: val's rows are a sample, not the edge itself.
            best = (confidence + following) / 2 if math.isfinite(following) else math.nextafter(confidence, math.inf)
    return best


def _capped_threshold(scored: list[tuple[Example, str, float]], max_accuracy_drop: float) -> float:
    in_scope = [(predicted == e.intent, confidence) for e, predicted, confidence in scored if e.in_scope]
    if not in_scope:
        return 0.0
    correct = sorted((c for ok, c in in_scope if ok), reverse=True)
    # Keep at least `needed` of the correct answers: the threshold is the needed-th best one.
    needed = math.ceil(len(correct) - max_accuracy_drop * len(in_scope) - 1e-9)
    if needed <= 0:
        return correct[0] if correct else 0.0
    return correct[needed - 1]


def _macro_f1(pairs: list[tuple[str, str]]) -> float:
    labels = {gold for gold, _ in pairs if gold != OUT_OF_SCOPE}
    scores = []
    for label in labels:
        tp = sum(g == label and p == label for g, p in pairs)
        fp = sum(g != label and p == label for g, p in pairs)
        fn = sum(g == label and p != label for g, p in pairs)
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        scores.append(2 * precision * recall / (precision + recall) if precision + recall else 0.0)
    return sum(scores) / len(scores) if scores else 0.0


def _per_route(rows: list[tuple[Example, str]], route_of: dict[str, str]) -> dict[str, RouteScore]:
    routes = sorted({r for r in route_of.values()})
    result = {}
    for route in routes:
        gold = [route_of.get(e.intent) == route for e, _ in rows]
        predicted = [route_of.get(p) == route for _, p in rows]
        tp = sum(g and p for g, p in zip(gold, predicted))
        result[route] = RouteScore(
            precision=tp / sum(predicted) if sum(predicted) else 0.0,
            recall=tp / sum(gold) if sum(gold) else 0.0,
            support=sum(gold),
        )
    return result


def evaluate(
    examples: list[Example],
    make_classifier: Callable[[], Classifier],
    name: str,
    max_accuracy_drop: float | None = None,
    progress: Progress[Any] = _plain,
) -> Report:
    train = [(e.text, e.intent) for e in examples if e.split == "train" and e.in_scope]
    val = [e for e in examples if e.split == "val"]
    test = [e for e in examples if e.split == "test"]
    if not train or not test:
        raise ValueError("the data needs train and test rows")
    route_of = {e.intent: e.route for e in examples if e.route and e.in_scope}

    started = time.perf_counter()
    classifier = make_classifier()
    out_of_scope_train = [e.text for e in examples if e.split == "train" and not e.in_scope]
    classifier.fit(train, out_of_scope_train)
    train_s = time.perf_counter() - started

    val_scored = [(e, *classifier.predict(e.text)) for e in progress(val, "tuning on val")]
    threshold = choose_threshold(val_scored, max_accuracy_drop) if any(not e.in_scope for e in val) else 0.0

    latencies: list[float] = []
    rows: list[tuple[Example, str]] = []
    raw_correct = 0
    for example in progress(test, "testing"):
        began = time.perf_counter()
        intent, confidence = classifier.predict(example.text)
        decided = intent if confidence >= threshold else OUT_OF_SCOPE
        latencies.append((time.perf_counter() - began) * 1000)
        rows.append((example, decided))
        raw_correct += example.in_scope and intent == example.intent

    in_scope = [(e, p) for e, p in rows if e.in_scope]
    out_of_scope = [(e, p) for e, p in rows if not e.in_scope]
    errors = Counter((e.intent, p) for e, p in rows if p != e.intent)
    return Report(
        classifier=name,
        train_examples=len(train),
        out_of_scope_train_examples=len(out_of_scope_train),
        test_examples=len(test),
        accuracy=sum(p == e.intent for e, p in in_scope) / len(in_scope) if in_scope else 0.0,
        macro_f1=_macro_f1([(e.intent, p) for e, p in rows]),
        oos_recall=sum(p == OUT_OF_SCOPE for _, p in out_of_scope) / len(out_of_scope) if out_of_scope else None,
        threshold=threshold,
        unthresholded_accuracy=raw_correct / len(in_scope) if in_scope else 0.0,
        train_s=train_s,
        p50_ms=percentile(latencies, 50),
        p99_ms=percentile(latencies, 99),
        per_route=_per_route(rows, route_of) if route_of else {},
        confusions=[(gold, predicted, n) for (gold, predicted), n in errors.most_common(10)],
    )

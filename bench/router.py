"""Router decision latency: our lean path next to scikit-learn's own per-call path, one run.

    python bench/router.py [--data clinc150.jsonl] [--queries 3000] [--no-semantic] [--smoke]

Without --data it converts CLINC150 from ../shared/datasets/clinc150 (beside the checkout).
Both paths use the same trained weights, so the answers must agree; the ratio is what to read.
With the semantic extra installed it also times the semantic classifier against the linear one
and against encoding each query with the full all-MiniLM-L6-v2 transformer (what it distils).
The run fails if the two paths disagree on any query or the lean path places fewer than 80% of
the in-scope queries. `--smoke` uses the shipped demo intents and their held-out test messages,
without the semantic classifier (its training alone takes about 40 s): seconds, not minutes.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agent.routing.evaluation.datasets import OUT_OF_SCOPE, clinc150_examples, read_examples, write_examples  # noqa: E402
from agent.routing.linear import LinearIntentClassifier  # noqa: E402
from bench.support.harness import Broken, expect  # noqa: E402

CLINC150 = ROOT.parent / "shared" / "datasets" / "clinc150" / "data_full.json"
DEMO_TEST = ROOT / "tests" / "data" / "demo_intents_test.jsonl"
ACCURACY_FLOOR = 0.80  # far below what either data set gives: a floor for a broken path, not a score

Labelled = list[tuple[str, str]]


def timed(decide: Callable[[str], object], texts: list[str]) -> tuple[list[str], list[float]]:
    answers, latencies = [], []
    for text in texts:
        started = time.perf_counter()
        answers.append(str(decide(text)))
        latencies.append((time.perf_counter() - started) * 1000)
    return answers, latencies


def clinc150(data: Path | None, queries: int) -> tuple[Labelled, Labelled]:
    """CLINC150's in-scope training rows, and its first `queries` test rows (oos included)."""
    if data is None:
        expect(CLINC150.exists(), f"no CLINC150 at {CLINC150}: pass --data (a file from `switchboard router clinc150`)")
        data = Path(tempfile.mkdtemp()) / "clinc150.jsonl"
        write_examples(clinc150_examples(CLINC150, CLINC150.parent / "domains.json"), data)
    examples = read_examples(data)
    train = [(e.text, e.intent) for e in examples if e.split == "train" and e.in_scope]
    return train, [(e.text, e.intent) for e in examples if e.split == "test"][:queries]


def demo() -> tuple[Labelled, Labelled]:
    """The shipped demo intents' examples, and the held-out messages written for them."""
    from agent.routing.intents import load_intents
    from agent.settings import load_settings

    settings = load_settings()
    catalog = load_intents(settings.resolve(settings.routing.intents_file), set(settings.routes))
    train = [(example, spec.name) for spec in catalog.intents.values() for example in spec.examples]
    rows = [json.loads(line) for line in DEMO_TEST.read_text().splitlines() if line.strip()]
    return train, [(row["text"], row["intent"]) for row in rows]


def main(train: Labelled, test: Labelled, semantic: bool = True) -> None:
    texts = [text for text, _ in test]
    started = time.perf_counter()
    model = LinearIntentClassifier().fit(train)
    print(f"trained on {len(train)} examples in {time.perf_counter() - started:.1f} s")

    # scikit-learn's path: the same weights, as a fitted LinearSVC would use them per call.
    from scipy.sparse import csr_matrix
    from sklearn.svm import LinearSVC

    svc = LinearSVC()
    svc.classes_ = __import__("numpy").array(model.intents)
    svc.coef_ = model.weights.T.astype("float64")
    svc.intercept_ = model.bias.astype("float64")

    def sklearn_decide(text: str) -> str:
        columns, values = model._vector(text)
        row = csr_matrix((values, ([0] * len(columns), columns)), shape=(1, len(model.index)))
        return str(svc.predict(row)[0])

    # The usual scikit-learn pipeline: its own vectorizers, then the linear model, per call.
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import make_pipeline, make_union

    pipeline = make_pipeline(
        make_union(
            TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True),
            TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True),
        ),
        LinearSVC(),
    ).fit([t for t, _ in train], [i for _, i in train])

    ours, our_ms = timed(lambda t: model.predict(t)[0], texts)
    theirs, their_ms = timed(sklearn_decide, texts)
    piped, pipeline_ms = timed(lambda t: pipeline.predict([t])[0], texts)
    rows = (("lean numpy path", ours, our_ms), ("LinearSVC.predict", theirs, their_ms), ("scikit-learn pipeline", piped, pipeline_ms))
    for name, answers, ms in rows:
        q = statistics.quantiles(ms, n=100)
        print(f"{name:22} p50 {q[49]:.3f} ms   p99 {q[98]:.3f} ms   in-scope accuracy (no threshold) {accuracy(answers, test):.1%}")
    disagree = sum(a != b for a, b in zip(ours, theirs))
    ours_p50 = statistics.median(our_ms)
    print(f"p50 ratio lean / LinearSVC.predict on the same features: {ours_p50 / statistics.median(their_ms):.2f} (answers agree: {1 - disagree / len(texts):.1%})")
    print(f"p50 ratio lean / scikit-learn pipeline: {ours_p50 / statistics.median(pipeline_ms):.3f}")
    expect(disagree == 0, f"the lean path and LinearSVC.predict disagree on {disagree} of {len(texts)} queries")
    expect(accuracy(ours, test) >= ACCURACY_FLOOR, f"the lean path placed {accuracy(ours, test):.1%} of in-scope queries")
    if semantic:
        bench_semantic(train, test, our_ms)


def accuracy(answers: list[str], test: Labelled) -> float:
    """The share of in-scope queries given their intent (out-of-scope ones need a threshold)."""
    scored = [answer == intent for answer, (_, intent) in zip(answers, test) if intent != OUT_OF_SCOPE]
    return sum(scored) / len(scored)


def bench_semantic(train: Labelled, test: Labelled, linear_ms: list[float]) -> None:
    from agent.routing.training.distill import SemanticUnavailable, _load_teacher
    from agent.routing.semantic import SemanticIntentClassifier

    texts = [text for text, _ in test]
    started = time.perf_counter()
    try:
        model = SemanticIntentClassifier().fit(train)
    except SemanticUnavailable as exc:
        print(f"semantic: skipped ({exc})")
        return
    print(f"semantic: trained in {time.perf_counter() - started:.1f} s")
    answers, semantic_ms = timed(lambda t: model.predict(t)[0], texts)
    # The transformer it distils, one query at a time as a router would call it (fewer queries:
    # each costs milliseconds).
    teacher = _load_teacher()
    _, teacher_ms = timed(lambda t: teacher.encode([t], convert_to_numpy=True), texts[:300])
    for name, ms in (("semantic lean path", semantic_ms), ("MiniLM encode, 1 query", teacher_ms)):
        q = statistics.quantiles(ms, n=100)
        print(f"{name:22} p50 {q[49]:.3f} ms   p99 {q[98]:.3f} ms")
    print(f"semantic in-scope accuracy (no threshold): {accuracy(answers, test):.1%}")
    p50 = statistics.median(semantic_ms)
    print(f"p50 ratio semantic / linear lean path: {p50 / statistics.median(linear_ms):.2f}")
    print(f"p50 ratio semantic / MiniLM encoding alone: {p50 / statistics.median(teacher_ms):.3f}")
    expect(accuracy(answers, test) >= ACCURACY_FLOOR, f"the semantic path placed {accuracy(answers, test):.1%} of in-scope queries")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path)
    parser.add_argument("--queries", type=int, default=3000)
    parser.add_argument("--no-semantic", action="store_true", help="Skip the semantic classifier.")
    parser.add_argument("--smoke", action="store_true", help="The demo intents, no semantic classifier: does it still run?")
    args = parser.parse_args()
    try:
        train, test = demo() if args.smoke else clinc150(args.data, args.queries)
        main(train, test, not (args.no_semantic or args.smoke))
    except Broken as exc:
        sys.exit(f"router.py: FAILED: {exc}")

"""Router decision latency: our lean path next to scikit-learn's own per-call path, one run.

    python bench/router.py [--data clinc150.jsonl] [--queries 3000] [--no-semantic]

Without --data it converts CLINC150 from ../shared/datasets/clinc150 (beside the checkout).
Both paths use the same trained weights, so the answers must agree; the ratio is what to read.
With the semantic extra installed it also times the semantic classifier against the linear one
and against encoding each query with the full all-MiniLM-L6-v2 transformer (what it distils).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agent.routing.datasets import clinc150_examples, read_examples, write_examples  # noqa: E402
from agent.routing.linear import LinearIntentClassifier  # noqa: E402


def timed(decide, texts: list[str]) -> tuple[list[str], list[float]]:  # type: ignore[no-untyped-def]
    answers, latencies = [], []
    for text in texts:
        started = time.perf_counter()
        answers.append(decide(text))
        latencies.append((time.perf_counter() - started) * 1000)
    return answers, latencies


def main(data: Path | None, queries: int, semantic: bool = True) -> None:
    if data is None:
        source = ROOT.parent / "shared" / "datasets" / "clinc150" / "data_full.json"
        data = Path(tempfile.mkdtemp()) / "clinc150.jsonl"
        write_examples(clinc150_examples(source, source.parent / "domains.json"), data)
    examples = read_examples(data)
    train = [(e.text, e.intent) for e in examples if e.split == "train" and e.in_scope]
    texts = [e.text for e in examples if e.split == "test"][:queries]

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
    _, pipeline_ms = timed(lambda t: pipeline.predict([t])[0], texts)
    agree = sum(a == b for a, b in zip(ours, theirs)) / len(texts)
    rows = (("lean numpy path", our_ms), ("LinearSVC.predict", their_ms), ("scikit-learn pipeline", pipeline_ms))
    for name, ms in rows:
        q = statistics.quantiles(ms, n=100)
        print(f"{name:22} p50 {q[49]:.3f} ms   p99 {q[98]:.3f} ms")
    ours_p50 = statistics.median(our_ms)
    print(f"p50 ratio lean / LinearSVC.predict on the same features: {ours_p50 / statistics.median(their_ms):.2f} (answers agree: {agree:.1%})")
    print(f"p50 ratio lean / scikit-learn pipeline: {ours_p50 / statistics.median(pipeline_ms):.3f}")
    if semantic:
        bench_semantic(train, texts, our_ms)


def bench_semantic(train: list[tuple[str, str]], texts: list[str], linear_ms: list[float]) -> None:
    from agent.routing.distill import SemanticUnavailable, _load_teacher
    from agent.routing.semantic import SemanticIntentClassifier

    started = time.perf_counter()
    try:
        model = SemanticIntentClassifier().fit(train)
    except SemanticUnavailable as exc:
        print(f"semantic: skipped ({exc})")
        return
    print(f"semantic: trained in {time.perf_counter() - started:.1f} s")
    _, semantic_ms = timed(lambda t: model.predict(t)[0], texts)
    # The transformer it distils, one query at a time as a router would call it (fewer queries:
    # each costs milliseconds).
    teacher = _load_teacher()
    _, teacher_ms = timed(lambda t: teacher.encode([t], convert_to_numpy=True), texts[:300])
    for name, ms in (("semantic lean path", semantic_ms), ("MiniLM encode, 1 query", teacher_ms)):
        q = statistics.quantiles(ms, n=100)
        print(f"{name:22} p50 {q[49]:.3f} ms   p99 {q[98]:.3f} ms")
    p50 = statistics.median(semantic_ms)
    print(f"p50 ratio semantic / linear lean path: {p50 / statistics.median(linear_ms):.2f}")
    print(f"p50 ratio semantic / MiniLM encoding alone: {p50 / statistics.median(teacher_ms):.3f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path)
    parser.add_argument("--queries", type=int, default=3000)
    parser.add_argument("--no-semantic", action="store_true", help="Skip the semantic classifier.")
    args = parser.parse_args()
    main(args.data, args.queries, not args.no_semantic)

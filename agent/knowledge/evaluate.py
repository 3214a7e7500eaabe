"""How well retrieval finds the passage that answers a question: recall@1/5, MRR and latency.

Each line of a labelled file is `{"query", "source"}` (the document that answers it) or
`{"query", "answer"}` (a fact that must appear in the top passage); a file of `{"query"}` lines
that the knowledge base should not answer measures how often retrieval rightly finds nothing.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

from agent.contracts import KnowledgeQuery, Passage, Retriever

T = TypeVar("T")
Progress = Callable[[Iterable[T], str], Iterator[T]]


class EvalDataError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Labelled:
    query: str
    source: str | None = None
    answer: str | None = None


@dataclass(frozen=True, slots=True)
class RetrievalReport:
    questions: int
    recall_at_1: float
    recall_at_5: float
    mrr: float
    p50_ms: float
    p99_ms: float
    no_answer_questions: int = 0
    abstained: float | None = None  # of the questions it should not answer, the share that found nothing
    misses: tuple[str, ...] = ()  # queries whose answer was not in the top 5

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["misses"] = list(self.misses)
        return data


def read_labelled(path: Path, require_label: bool = True) -> list[Labelled]:
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            row = Labelled(str(data["query"]), data.get("source"), data.get("answer"))
        except (ValueError, KeyError, TypeError) as exc:
            raise EvalDataError(f"{path}:{number}: not a {{\"query\", ...}} JSON line ({exc})") from exc
        if require_label and row.source is None and row.answer is None:
            raise EvalDataError(f"{path}:{number}: needs a \"source\" or an \"answer\"")
        rows.append(row)
    return rows


def hit(row: Labelled, passage: Passage, top: bool) -> bool:
    """Whether `passage` answers `row`: from the labelled document, or (top passage only) holding the fact."""
    if row.source is not None:
        return row.source in (passage.source, f"{passage.collection}/{passage.source}")
    return top and row.answer is not None and row.answer.casefold() in passage.text.casefold()


async def evaluate(
    retriever: Retriever,
    rows: Sequence[Labelled],
    base: KnowledgeQuery,
    no_answer: Sequence[Labelled] = (),
    progress: Progress[Labelled] | None = None,
) -> RetrievalReport:
    """Every row searched as a turn would be (`base` gives collections and thresholds), k=5."""
    timings: list[float] = []
    firsts = fives = 0
    reciprocal = 0.0
    misses = []
    labelled: Iterable[Labelled] = progress(rows, "questions") if progress else rows
    for row in labelled:
        started = time.perf_counter()
        passages = await retriever.search(replace(base, text=row.query, k=5))
        timings.append((time.perf_counter() - started) * 1000)
        rank = next((i for i, p in enumerate(passages) if hit(row, p, top=i == 0)), None)
        if rank is None:
            misses.append(row.query)
            continue
        firsts += rank == 0
        fives += 1
        reciprocal += 1 / (rank + 1)
    abstained = 0
    for row in no_answer:
        started = time.perf_counter()
        found = await retriever.search(replace(base, text=row.query))
        timings.append((time.perf_counter() - started) * 1000)
        abstained += not found
    n = len(rows) or 1
    ordered = sorted(timings) or [0.0]
    return RetrievalReport(
        questions=len(rows),
        recall_at_1=firsts / n,
        recall_at_5=fives / n,
        mrr=reciprocal / n,
        p50_ms=statistics.median(ordered),
        p99_ms=ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))],
        no_answer_questions=len(no_answer),
        abstained=abstained / len(no_answer) if no_answer else None,
        misses=tuple(misses),
    )

"""Labelled utterances for training and evaluating the router, and the CLINC150 converter.

The format is JSON lines: {"text", "intent", "split"} with split train | val | test and
intent "oos" for out-of-scope (CLINC150's convention); an optional "route" groups intents.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

OUT_OF_SCOPE = "oos"
SPLITS = ("train", "val", "test")


@dataclass(frozen=True, slots=True)
class Example:
    text: str
    intent: str
    split: str
    route: str | None = None

    @property
    def in_scope(self) -> bool:
        return self.intent != OUT_OF_SCOPE


class DatasetError(ValueError):
    pass


def read_examples(path: Path) -> list[Example]:
    examples = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            example = Example(str(row["text"]), str(row["intent"]), str(row["split"]), row.get("route"))
        except (ValueError, KeyError, TypeError) as exc:
            raise DatasetError(f"{path}:{number}: expected {{\"text\", \"intent\", \"split\"}}: {exc}") from exc
        if example.split not in SPLITS:
            raise DatasetError(f"{path}:{number}: split must be one of {', '.join(SPLITS)}, not {example.split!r}")
        examples.append(example)
    return examples


def clinc150_examples(data_full: Path, domains: Path | None = None) -> Iterator[Example]:
    """CLINC150's data_full.json as examples; with domains.json, each intent's domain is its route."""
    data = json.loads(data_full.read_text())
    domain_of: dict[str, str] = {}
    if domains is not None and domains.exists():
        for domain, intents in json.loads(domains.read_text()).items():
            domain_of.update({intent: domain for intent in intents})
    for key, split in (("train", "train"), ("val", "val"), ("test", "test"), ("oos_train", "train"), ("oos_val", "val"), ("oos_test", "test")):
        for text, intent in data[key]:
            yield Example(text, intent, split, domain_of.get(intent))


def write_examples(examples: Iterable[Example], path: Path) -> int:
    count = 0
    with path.open("w") as out:
        for example in examples:
            row = {"text": example.text, "intent": example.intent, "split": example.split}
            if example.route:
                row["route"] = example.route
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
            count += 1
    return count

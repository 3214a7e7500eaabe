"""FAQ files: question and answer pairs, from CSV (a header row names the columns) or JSON Lines.
Each pair is a section of its own, the question its path and the answer its text."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Mapping
from typing import Any

from agent.contracts.knowledge import ChunkRecord
from agent.knowledge.parsing.blocks import Parsed, Section, collapsed, humanized
from agent.knowledge.parsing.chunks import chunks_of
from agent.knowledge.parsing.errors import UnreadableDocument
from agent.knowledge.parsing.plain import paragraphs

QUESTION = frozenset({"question", "q"})
ANSWER = frozenset({"answer", "a"})
URL = frozenset({"url"})
# Spreadsheets export with commas, or semicolons where the comma is the decimal mark.
_DELIMITERS = (",", ";", "\t", "|")

Pair = tuple[str, str, str | None]  # question, answer, url


def parse_csv(text: str, stem: str) -> Parsed:
    return _parsed(list(_csv_pairs(text)), stem)


def parse_jsonl(text: str, stem: str) -> Parsed:
    return _parsed(list(_jsonl_pairs(text)), stem)


def _parsed(pairs: list[Pair], stem: str) -> Parsed:
    if not pairs:
        raise UnreadableDocument("no question/answer pairs")
    chunks: list[ChunkRecord] = []
    for question, answer, url in pairs:
        for chunk in chunks_of([Section((question,), tuple(paragraphs(answer)))]):
            chunks.append(ChunkRecord(ordinal=len(chunks), section=chunk.section, text=chunk.text, url=url))
    urls = {url for _, _, url in pairs}
    # One link for every answer is the page the FAQ lives on.
    return Parsed(title=humanized(stem), chunks=tuple(chunks), url=urls.pop() if len(urls) == 1 else None)


def _pair(question: Any, answer: Any, url: Any) -> Pair | None:
    question = collapsed(str(question)) if isinstance(question, str | int | float) else ""
    answer = str(answer).strip() if isinstance(answer, str | int | float) else ""
    if not question or not answer or not paragraphs(answer):
        return None  # a blank row, or half of one
    url = url.strip() if isinstance(url, str) else ""
    return question, answer, url or None


def _csv_pairs(text: str) -> Iterator[Pair]:
    for delimiter in _DELIMITERS:
        reader = csv.reader(io.StringIO(text), delimiter=delimiter)
        try:
            header = next((row for row in reader if any(cell.strip() for cell in row)), [])
            columns = _columns(header)
            if columns is None:
                continue
            question, answer, url = columns
            for row in reader:
                cell = dict(enumerate(row)).get
                if found := _pair(cell(question, ""), cell(answer, ""), cell(url, "") if url is not None else None):
                    yield found
            return
        except csv.Error:
            raise UnreadableDocument(f"bad CSV on line {reader.line_num}") from None
    raise UnreadableDocument("no question/answer columns")


def _columns(header: list[str]) -> tuple[int, int, int | None] | None:
    """The indexes of the question, answer and (optional) url columns; None without the first two."""
    names = [cell.strip().lower() for cell in header]
    question = next((i for i, name in enumerate(names) if name in QUESTION), None)
    answer = next((i for i, name in enumerate(names) if name in ANSWER), None)
    url = next((i for i, name in enumerate(names) if name in URL), None)
    return None if question is None or answer is None else (question, answer, url)


def _jsonl_pairs(text: str) -> Iterator[Pair]:
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except (ValueError, RecursionError):
            raise UnreadableDocument(f"bad JSON on line {number}") from None
        if not isinstance(record, Mapping):
            raise UnreadableDocument(f"line {number} is not a JSON object")
        fields = {str(key).strip().lower(): value for key, value in record.items()}
        question = next((fields[name] for name in ("question", "q") if name in fields), None)
        answer = next((fields[name] for name in ("answer", "a") if name in fields), None)
        if question is None or answer is None:
            raise UnreadableDocument(f"no question/answer on line {number}")
        if found := _pair(question, answer, fields.get("url")):
            yield found

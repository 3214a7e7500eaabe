"""YAML front matter: the `---` block at the top of a Markdown file, as plain (JSON-safe) values."""

from __future__ import annotations

import datetime
import math
import re
from typing import Any

import yaml

from agent.knowledge.parsing.errors import UnreadableDocument

_OPEN = re.compile(r"---[ \t]*(?:\n|$)")
_CLOSE = re.compile(r"^(?:---|\.\.\.)[ \t]*$", re.MULTILINE)
# Metadata is a handful of fields. PyYAML reads ~100 KB a second, and aliases let a few lines
# stand for a huge or endless value: both are bounded.
MAX_FRONT_MATTER_CHARS = 64 * 1024
_MAX_VALUES = 10_000
_MAX_DEPTH = 32


def split_front_matter(text: str) -> tuple[dict[str, Any], str]:
    """The front matter's fields and the Markdown after it; ({}, text) when there is none."""
    opening = _OPEN.match(text)
    if opening is None:
        return {}, text
    rest = text[opening.end() :]
    closing = _CLOSE.search(rest)
    if closing is None:
        raise UnreadableDocument("front matter not closed")
    if closing.start() > MAX_FRONT_MATTER_CHARS:
        raise UnreadableDocument("front matter too large")
    try:
        loaded = yaml.safe_load(rest[: closing.start()])
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        # The block starts on the file's second line; marks count from 0.
        raise UnreadableDocument(f"bad front matter on line {mark.line + 2}" if mark else "bad front matter") from None
    except (yaml.YAMLError, ValueError, TypeError, OverflowError, RecursionError):
        # PyYAML's constructors raise plain ValueError and others, for a date 2024-13-01 say.
        raise UnreadableDocument("bad front matter") from None
    if loaded is None:
        loaded = {}
    if not isinstance(loaded, dict):
        raise UnreadableDocument("front matter is not a mapping")
    return _plain(loaded, [_MAX_VALUES], 0), rest[closing.end() :]


def _plain(value: Any, budget: list[int], depth: int) -> Any:
    """`value` as JSON can hold it: string keys, dates as ISO text, anything else unknown as text."""
    budget[0] -= 1
    if budget[0] < 0 or depth > _MAX_DEPTH:
        raise UnreadableDocument("front matter too large")
    if isinstance(value, dict):
        return {str(key): _plain(item, budget, depth + 1) for key, item in value.items()}
    if isinstance(value, list | tuple | set):
        return [_plain(item, budget, depth + 1) for item in value]
    if isinstance(value, datetime.date):  # datetime.datetime is a date too
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)

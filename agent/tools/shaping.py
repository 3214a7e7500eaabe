"""A system's answer cut down to what a model should see: the configured fields, within a size cap."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any


def only_fields(data: Any, fields: Sequence[str] | None) -> Any:
    """`data` with only `fields` kept (in an object, or in each object of a list)."""
    if not fields:
        return data
    if isinstance(data, dict):
        return {name: data[name] for name in fields if name in data}
    if isinstance(data, list):
        return [only_fields(item, fields) for item in data]
    return data


def within(data: Any, max_chars: int) -> Any:
    """`data` as it is when its JSON fits `max_chars`; else as many list items as fit, or a cut text."""
    text = json.dumps(data, ensure_ascii=False, default=str)
    if len(text) <= max_chars:
        return data
    if isinstance(data, list):
        kept: list[Any] = []
        size = 2
        for item in data:
            size += len(json.dumps(item, ensure_ascii=False, default=str)) + 2
            if size > max_chars - 40:
                break
            kept.append(item)
        return {"items": kept, "truncated": True, "total_items": len(data)}
    return {"partial": text[: max_chars - 40], "truncated": True}

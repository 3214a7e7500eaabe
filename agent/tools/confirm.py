"""The question a customer is asked before a change is made."""

from __future__ import annotations

import string
from collections.abc import Mapping
from typing import Any


def question(template: str | None, description: str, values: Mapping[str, Any]) -> str:
    """The confirmation question, from the tool's `confirm_text` and the arguments and preview's fields."""
    if template:
        return _Formatter().format(template, **{k: _plain(v) for k, v in values.items()}).strip() + _REPLY_HINT
    # Lists too: "order_ids NW-1, NW-2" is what the customer says yes to.
    shown = ", ".join(f"{k} {_plain(v)}" for k, v in values.items() if not isinstance(v, dict))
    return f"{description or 'Make this change'} ({shown})?" + _REPLY_HINT


_REPLY_HINT = " Reply yes to go ahead; anything else leaves it as it is."


def _plain(value: Any) -> str:
    """A value as a customer reads it: items as "1 × Tent, 2 × Pad", amounts with two decimals."""
    if isinstance(value, list):
        return ", ".join(_item(v) for v in value)
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, dict):
        return ", ".join(f"{k} {_plain(v)}" for k, v in value.items())
    return "" if value is None else str(value)


def _item(value: Any) -> str:
    if isinstance(value, dict) and "name" in value:
        qty = value.get("qty", value.get("quantity"))
        return f"{qty} × {value['name']}" if qty is not None else str(value["name"])
    return _plain(value)


class _Formatter(string.Formatter):
    """A field missing from the values reads as nothing, not a KeyError."""

    def get_value(self, key: Any, args: Any, kwargs: Mapping[str, Any]) -> Any:
        return kwargs.get(key, "") if isinstance(key, str) else super().get_value(key, args, kwargs)

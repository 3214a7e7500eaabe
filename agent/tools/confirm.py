"""Confirmation before a change: the question the customer is asked, and whether they said yes.

Only an explicit yes runs the action. "yes but…", "no", "wait", "what would that cost?" and
anything else leave it undone: a customer who meant yes says it again, one who did not loses nothing.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from typing import Any

_YES = {
    "yes", "y", "yeah", "yep", "yup", "yes please", "yes, please", "please do", "do it", "go ahead",
    "yes go ahead", "yes, go ahead", "yes do it", "yes, do it", "confirm", "confirmed", "i confirm",
    "sure", "ok", "okay", "ok go ahead", "okay go ahead", "correct", "that's right", "yes that's right",
    "yes, that's right", "absolutely", "yes cancel it", "yes, cancel it", "cancel it",
    "yes please cancel it", "yes, please cancel it", "si", "oui", "ja",
}  # fmt: skip
_NEGATIONS = re.compile(r"\b(no|not|don'?t|do not|never|wait|stop|hold on|but|instead|cancel that|nope|nah)\b", re.IGNORECASE)
_TRAILING = string.punctuation + " \t\n!👍"
_THUMBS = ("👍", "👍🏻", "👍🏼", "👍🏽", "👍🏾", "👍🏿", "✅")


def is_yes(text: str) -> bool:
    """Whether a message is an explicit yes and nothing more."""
    if text.strip() in _THUMBS:
        return True  # before the strip below, which takes the thumb away too
    said = " ".join(text.strip().lower().replace("’", "'").split()).strip(_TRAILING)
    if not said or len(said) > 40:
        return False
    if said in _YES or said.rstrip(".!") in _YES:
        return True
    # "yes, the blue one": a yes and a few words; "yesterday" is not a yes.
    first = said.split()[0].strip(string.punctuation)
    return first == "yes" and not _NEGATIONS.search(said) and len(said.split()) <= 4


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

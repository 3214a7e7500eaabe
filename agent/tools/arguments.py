"""A model's arguments, checked against the tool's JSON Schema before anything runs."""

from __future__ import annotations

import json
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

MAX_ARGUMENT_CHARS = 8000


class InvalidArguments(ValueError):
    """What is wrong with the arguments, in words a model can act on."""


def check_schema(schema: dict[str, Any]) -> None:
    """Raises ValueError naming what is wrong with a tool's schema (at start-up)."""
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as error:
        raise ValueError(f"not a valid JSON Schema: {error.message}") from None


class ArgumentCheck:
    def __init__(self, schema: dict[str, Any], hidden: frozenset[str] = frozenset()) -> None:
        self._validator = Draft202012Validator(schema)
        self._hidden = hidden  # arguments never quoted back: the error is stored with the turn

    def parse(self, raw: str) -> dict[str, Any]:
        """The arguments as a dict, or `InvalidArguments`."""
        if len(raw) > MAX_ARGUMENT_CHARS:
            raise InvalidArguments(f"arguments over {MAX_ARGUMENT_CHARS} characters")
        try:
            arguments = json.loads(raw or "{}")
        except (ValueError, RecursionError):
            raise InvalidArguments("arguments are not JSON") from None
        if not isinstance(arguments, dict):
            raise InvalidArguments("arguments must be a JSON object")
        errors = sorted(self._validator.iter_errors(arguments), key=lambda e: list(e.path))
        if errors:
            first = errors[0]
            where = ".".join(str(p) for p in first.path) or "arguments"
            if first.path and first.path[0] in self._hidden:
                raise InvalidArguments(f"{where}: does not meet its {first.validator} of {first.validator_value!r}"[:250])
            raise InvalidArguments(f"{where}: {first.message[:200]}")
        return arguments

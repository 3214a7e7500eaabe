"""A tool as the models see it (name, description, JSON Schema) and as its guard rails read it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from agent.models import Tool


@dataclass(frozen=True, slots=True)
class ToolSpec:
    name: str
    description: str
    parameters: dict[str, Any] = field(default_factory=lambda: {"type": "object", "properties": {}})
    timeout_s: float = 3.0
    requires_verified_customer: bool = False
    confirm: bool = False
    confirm_text: str | None = None
    preview: str | None = None  # a read-only tool whose result fills confirm_text
    confirm_only_if: tuple[tuple[str, frozenset[str]], ...] = ()  # preview's fields and the values that allow it
    redact: frozenset[str] = frozenset()

    def as_model_tool(self) -> Tool:
        return Tool(self.name, self.description, self.parameters)


def object_schema(parameters: dict[str, dict[str, Any]], required: list[str] | None = None) -> dict[str, Any]:
    """One JSON Schema object from a schema per argument; every argument required unless said."""
    return {
        "type": "object",
        "properties": parameters,
        "required": list(parameters) if required is None else required,
        "additionalProperties": False,
    }

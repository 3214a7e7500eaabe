"""A conversation test file: scripted customer turns and what each turn should do.

The YAML is checked with pydantic and handed on as frozen dataclasses; a mistake in the file
is a SuiteError that names the conversation, the turn and the key.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, ValidationError, model_validator

from agent.app.channels import CHANNELS
from agent.contracts import ConversationState, ToolOutcome

DEFAULT_CHANNEL = "web"
OUTCOMES = tuple(outcome.value for outcome in ToolOutcome)
CONFIRMATIONS = ("asked", "confirmed", "declined")
STATES = tuple(state.value for state in ConversationState)


class SuiteError(ValueError):
    """The file cannot be read, or something in it is not a conversation test."""


def is_pattern(value: object) -> bool:
    """`/.../`: a regular expression the actual value must match (re.search)."""
    return isinstance(value, str) and len(value) >= 2 and value.startswith("/") and value.endswith("/")


def pattern_of(value: str) -> re.Pattern[str]:
    return re.compile(value[1:-1])


@dataclass(frozen=True, slots=True)
class ToolExpectation:
    """One tool call of the turn: its name, and what else is given of it."""

    name: str
    outcome: str | None = None
    arguments: Mapping[str, Any] | None = None  # a subset; `/regex/` strings match by pattern
    confirmation: str | None = None


@dataclass(frozen=True, slots=True)
class Expectation:
    """What one turn should do; None (or empty) leaves that part unchecked."""

    route: str | None = None
    intent: str | None = None
    tools: tuple[ToolExpectation, ...] | None = None  # every call of the turn, in order
    no_tools: bool = False
    contains: tuple[str, ...] = ()
    not_contains: tuple[str, ...] = ()
    escalated: bool | None = None
    state: str | None = None
    sources: tuple[str, ...] | None = None  # () : no source cited

    @property
    def empty(self) -> bool:
        return self == Expectation()


@dataclass(frozen=True, slots=True)
class Turn:
    customer: str
    expect: Expectation = Expectation()


@dataclass(frozen=True, slots=True)
class Conversation:
    name: str
    turns: tuple[Turn, ...]
    channel: str = DEFAULT_CHANNEL
    settings: Mapping[str, Any] = field(default_factory=dict)  # merged into the configuration
    xfail: str | None = None  # why it is known to fail: reported, not counted as a failure


@dataclass(frozen=True, slots=True)
class Suite:
    path: Path
    conversations: tuple[Conversation, ...]

    def only(self, names: tuple[str, ...]) -> Suite:
        """The conversations called `names`, in the file's order; SuiteError for a name not in it."""
        known = {c.name for c in self.conversations}
        unknown = [name for name in names if name not in known]
        if unknown:
            raise SuiteError(f"{self.path}: no conversation named {', '.join(map(repr, unknown))}")
        return Suite(self.path, tuple(c for c in self.conversations if c.name in names))


# -- the file's schema ----------------------------------------------------------------------

Text = Annotated[str, StringConstraints(min_length=1)]


def _listed(value: object) -> object:
    """A single string where a list is expected is a list of one."""
    return [value] if isinstance(value, str) else value


def _tool_item(value: object) -> object:
    return {"name": value} if isinstance(value, str) else value


Texts = Annotated[list[Text], BeforeValidator(_listed)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_patterns(value: object, key: str) -> None:
    if isinstance(value, Mapping):
        for name, item in value.items():
            _check_patterns(item, f"{key}.{name}")
    elif is_pattern(value):
        try:
            pattern_of(value)  # type: ignore[arg-type]
        except re.error as exc:
            raise ValueError(f"{key}: {value} is not a regular expression: {exc}") from None


class _ToolSchema(_Strict):
    name: Text
    outcome: Literal[OUTCOMES] | None = None  # type: ignore[valid-type]
    arguments: dict[str, Any] | None = None
    confirmation: Literal[CONFIRMATIONS] | None = None  # type: ignore[valid-type]

    @model_validator(mode="after")
    def _patterns(self) -> _ToolSchema:
        _check_patterns(self.arguments or {}, "arguments")
        return self


class _ExpectSchema(_Strict):
    route: Text | None = None
    intent: Text | None = None
    tools: list[Annotated[_ToolSchema, BeforeValidator(_tool_item)]] | None = None
    no_tools: bool = False
    contains: Texts = []
    not_contains: Texts = []
    escalated: bool | None = None
    state: Literal[STATES] | None = None  # type: ignore[valid-type]
    sources: Annotated[list[Text], BeforeValidator(_listed)] | None = None

    @model_validator(mode="after")
    def _tools_or_none(self) -> _ExpectSchema:
        if self.no_tools and self.tools:
            raise ValueError("no_tools: true and a tools list contradict each other")
        return self


class _TurnSchema(_Strict):
    customer: Text
    expect: _ExpectSchema = _ExpectSchema()


class _ConversationSchema(_Strict):
    name: Text
    channel: Literal[tuple(CHANNELS)] = DEFAULT_CHANNEL  # type: ignore[valid-type]
    settings: dict[str, Any] = {}
    xfail: Text | None = None
    turns: Annotated[list[_TurnSchema], Field(min_length=1)]


class _SuiteSchema(_Strict):
    conversations: Annotated[list[_ConversationSchema], Field(min_length=1)]

    @model_validator(mode="after")
    def _unique_names(self) -> _SuiteSchema:
        seen: set[str] = set()
        for conversation in self.conversations:
            if conversation.name in seen:
                raise ValueError(f"two conversations are named {conversation.name!r}: names must be unique")
            seen.add(conversation.name)
        return self


# -- reading --------------------------------------------------------------------------------


def load_suite(path: Path) -> Suite:
    """The conversations of the YAML file at `path`; SuiteError naming what is wrong and where."""
    try:
        data = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise SuiteError(f"cannot read {path}: {exc.strerror or exc}") from exc
    except yaml.YAMLError as exc:
        raise SuiteError(f"{path} is not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise SuiteError(f"{path}: expected a mapping with a `conversations:` list")
    try:
        parsed = _SuiteSchema.model_validate(data)
    except ValidationError as exc:
        raise SuiteError(_describe(exc, data, path)) from None
    return Suite(path, tuple(_conversation(c) for c in parsed.conversations))


def _conversation(schema: _ConversationSchema) -> Conversation:
    return Conversation(
        name=schema.name,
        channel=schema.channel,
        settings=schema.settings,
        xfail=schema.xfail,
        turns=tuple(Turn(turn.customer, _expectation(turn.expect)) for turn in schema.turns),
    )


def _expectation(schema: _ExpectSchema) -> Expectation:
    tools = None
    if schema.tools is not None:
        tools = tuple(ToolExpectation(t.name, t.outcome, t.arguments, t.confirmation) for t in schema.tools)
    return Expectation(
        route=schema.route,
        intent=schema.intent,
        tools=tools,
        no_tools=schema.no_tools,
        contains=tuple(schema.contains),
        not_contains=tuple(schema.not_contains),
        escalated=schema.escalated,
        state=schema.state,
        sources=None if schema.sources is None else tuple(schema.sources),
    )


def _describe(error: ValidationError, data: dict[str, Any], path: Path) -> str:
    lines = [f"{path} is not a conversation test file:"]
    for item in error.errors():
        lines.append(f"  {_where(item['loc'], data)}: {item['msg'].removeprefix('Value error, ')}")
    return "\n".join(lines)


def _where(loc: tuple[int | str, ...], data: dict[str, Any]) -> str:
    """`conversation 'name' (#2), turn 3, expect.tools[0].outcome` for pydantic's location."""
    parts = list(loc)
    if len(parts) < 2 or parts[0] != "conversations" or not isinstance(parts[1], int):
        return ".".join(map(str, parts)) or "(top level)"
    index = parts[1]
    found = data.get("conversations")
    entry = found[index] if isinstance(found, list) and index < len(found) else None
    name = entry.get("name") if isinstance(entry, dict) else None
    where = [f"conversation {name!r} (#{index + 1})" if isinstance(name, str) else f"conversation #{index + 1}"]
    rest = parts[2:]
    if len(rest) >= 2 and rest[0] == "turns" and isinstance(rest[1], int):
        where.append(f"turn {rest[1] + 1}")
        rest = rest[2:]
    if rest:
        where.append(_key(rest))
    return ", ".join(where)


def _key(parts: list[int | str]) -> str:
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        elif not part.startswith(("function-", "literal[")):  # pydantic's own steps, not keys
            text += f".{part}" if text else part
    return text

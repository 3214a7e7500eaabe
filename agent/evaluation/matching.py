"""Checking what a turn did against what it should have done: each difference, with the actual value."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from agent.contracts import Source, ToolCallRecord
from agent.evaluation.suite import Expectation, ToolExpectation, is_pattern, pattern_of


@dataclass(frozen=True, slots=True)
class Observed:
    """What one turn did, as the customer saw it and the store kept it."""

    text: str  # the answer ("" when the bot said nothing: relayed to a person)
    route: str | None
    intent: str | None
    outcome: str | None
    model: str | None
    tool_calls: tuple[ToolCallRecord, ...]
    escalated: bool
    state: str
    sources: tuple[Source, ...]


@dataclass(frozen=True, slots=True)
class Mismatch:
    """One expectation the turn missed: which (`tools[1].arguments.order_id`), and both values."""

    expectation: str
    expected: Any
    actual: Any

    def describe(self) -> str:
        # The answer itself is shown once beside the turn's mismatches, not in each of them.
        if self.expectation == "contains":
            return f"contains: {self.expected!r} is not in the answer"
        if self.expectation == "not_contains":
            return f"not_contains: {self.expected!r} is in the answer"
        return f"{self.expectation}: expected {_shown(self.expected)}, got {_shown(self.actual)}"


def check(expect: Expectation, observed: Observed) -> list[Mismatch]:
    """Every way `observed` differs from `expect`; [] when the turn did what it should."""
    found: list[Mismatch] = []
    for key in ("route", "intent", "escalated", "state"):
        wanted = getattr(expect, key)
        if wanted is not None and wanted != getattr(observed, key):
            found.append(Mismatch(key, wanted, getattr(observed, key)))
    if expect.no_tools and observed.tool_calls:
        found.append(Mismatch("no_tools", [], _calls(observed.tool_calls)))
    if expect.tools is not None:
        found.extend(_check_tools(expect.tools, observed.tool_calls))
    answer = observed.text.casefold()
    for text in expect.contains:
        if text.casefold() not in answer:
            found.append(Mismatch("contains", text, observed.text))
    for text in expect.not_contains:
        if text.casefold() in answer:
            found.append(Mismatch("not_contains", text, observed.text))
    if expect.sources is not None:
        found.extend(_check_sources(expect.sources, observed.sources))
    return found


def _check_tools(expected: tuple[ToolExpectation, ...], calls: tuple[ToolCallRecord, ...]) -> list[Mismatch]:
    names = [call.tool for call in calls]
    if [tool.name for tool in expected] != names:
        return [Mismatch("tools", [tool.name for tool in expected], _calls(calls))]
    found: list[Mismatch] = []
    for index, (tool, call) in enumerate(zip(expected, calls)):
        key = f"tools[{index}]"
        if tool.outcome is not None and tool.outcome != call.outcome.value:
            actual = call.outcome.value + (f" ({call.error})" if call.error else "")
            found.append(Mismatch(f"{key}.outcome", tool.outcome, actual))
        if tool.confirmation is not None and tool.confirmation != call.confirmation:
            found.append(Mismatch(f"{key}.confirmation", tool.confirmation, call.confirmation))
        if tool.arguments is not None:
            found.extend(_subset(tool.arguments, call.arguments, f"{key}.arguments"))
    return found


def _subset(expected: Mapping[str, Any], actual: Mapping[str, Any], key: str) -> list[Mismatch]:
    """Each expected key must be there with a matching value; other keys of `actual` may be too."""
    found: list[Mismatch] = []
    for name, wanted in expected.items():
        where = f"{key}.{name}"
        if name not in actual:
            found.append(Mismatch(where, wanted, "(no such argument)"))
        elif isinstance(wanted, Mapping) and isinstance(actual[name], Mapping):
            found.extend(_subset(wanted, actual[name], where))
        elif not matches(wanted, actual[name]):
            found.append(Mismatch(where, wanted, actual[name]))
    return found


def matches(wanted: Any, actual: Any) -> bool:
    """Equal, or for `/regex/` a match anywhere in the value's text."""
    if is_pattern(wanted):
        return actual is not None and pattern_of(wanted).search(str(actual)) is not None
    return bool(wanted == actual)


def _check_sources(expected: tuple[str, ...], sources: tuple[Source, ...]) -> list[Mismatch]:
    cited = [source.title for source in sources]
    if not expected:
        return [Mismatch("sources", [], cited)] if sources else []
    return [Mismatch("sources", wanted, cited) for wanted in expected if not any(_cites(wanted, s) for s in sources)]


def _cites(wanted: str, source: Source) -> bool:
    """A passage's id, its document's path (or the end of it), or a part of its title."""
    folded = wanted.casefold()
    return (
        wanted == source.id
        or source.source == wanted
        or source.source.endswith("/" + wanted)
        or folded in source.title.casefold()
    )


def _calls(calls: tuple[ToolCallRecord, ...]) -> list[str]:
    return [f"{call.tool} ({call.outcome.value})" for call in calls] or ["(none)"]


def _shown(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(str(item) for item in value) + "]"
    if isinstance(value, str):
        return repr(value)
    return str(value)

"""Intent definitions: example utterances per intent, each mapped to a route, plus rules."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml


@dataclass(frozen=True, slots=True)
class Rule:
    intent: str
    route: str
    phrases: tuple[str, ...] = ()
    regex: re.Pattern[str] | None = None

    def matches(self, lowered: str) -> bool:
        if any(phrase in lowered for phrase in self.phrases):
            return True
        return bool(self.regex and self.regex.search(lowered))


@dataclass(frozen=True, slots=True)
class IntentSpec:
    name: str
    route: str
    examples: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class IntentCatalog:
    intents: dict[str, IntentSpec]
    rules: tuple[Rule, ...] = field(default=())
    # Messages the business does not handle ("what's the weather"): the classifier learns them
    # as no intent at all, so turns like them fall below the threshold to `unknown`.
    out_of_scope: tuple[str, ...] = ()

    def route_of(self, intent: str) -> str | None:
        spec = self.intents.get(intent)
        if spec:
            return spec.route
        return next((rule.route for rule in self.rules if rule.intent == intent), None)


def load_intents(path: Path, routes: set[str]) -> IntentCatalog:
    """Read an intents file; an unknown route, an intent without examples or a malformed
    `out_of_scope` list is an error."""
    data = yaml.safe_load(path.read_text()) or {}
    intents: dict[str, IntentSpec] = {}
    for name, body in (data.get("intents") or {}).items():
        route = body.get("route")
        if route not in routes:
            raise ValueError(f"{path}: intents.{name}.route: unknown route {route!r}")
        examples = tuple(str(e) for e in body.get("examples") or ())
        if not examples:
            raise ValueError(f"{path}: intents.{name}.examples: at least one example is needed")
        intents[name] = IntentSpec(name, route, examples)
    rules = []
    for i, body in enumerate(data.get("rules") or ()):
        if body.get("route") not in routes:
            raise ValueError(f"{path}: rules.{i}.route: unknown route {body.get('route')!r}")
        pattern = body.get("regex")
        try:
            regex = re.compile(pattern, re.IGNORECASE) if pattern else None
        except re.error as exc:
            raise ValueError(f"{path}: rules.{i}.regex: {exc}") from exc
        phrases = tuple(p.lower() for p in body.get("phrases") or ())
        rules.append(Rule(body["intent"], body["route"], phrases, regex))
    return IntentCatalog(intents, tuple(rules), _out_of_scope(path, data.get("out_of_scope"), intents))


def _out_of_scope(path: Path, body: object, intents: dict[str, IntentSpec]) -> tuple[str, ...]:
    """The out-of-scope examples: plain values (`- 911` too), none of them an intent's example."""
    if body is None:
        return ()
    if not isinstance(body, list) or any(isinstance(e, (list, dict)) or e is None for e in body):
        raise ValueError(f"{path}: out_of_scope: a list of example messages is needed")
    examples = tuple(str(e) for e in body)
    taught = {e.strip().lower(): spec.name for spec in intents.values() for e in spec.examples}
    for example in examples:
        if example.strip().lower() in taught:
            # Taught both ways, it would only blur that intent.
            raise ValueError(
                f"{path}: out_of_scope: {example!r} is also an example of intents.{taught[example.strip().lower()]}"
            )
    return examples

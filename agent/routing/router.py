"""The router: rules first, then the trained classifier, then the conversation's context."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from agent.routing.classifier import Scored
from agent.routing.linear import LinearIntentClassifier
from agent.routing.intents import IntentCatalog

UNKNOWN = "unknown"
# A short low-confidence message in an ongoing conversation: it continues the current route.
FOLLOW_UP = "follow_up"
_DETAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+|\d[\d -]*\d|\d")
_DETAIL_WORDS = frozenset(
    "my the a it its it's is here you go oh sorry ok okay sure yes thanks thank email e-mail address "
    "zip zipcode postcode postal post code number".split()
)


def only_details(lowered: str) -> bool:
    """Whether a message is nothing but a detail the customer was asked for: an email address,
    a postcode or a number, with a few words around it ("my zip is 98103")."""
    rest = _DETAIL.sub(" ", lowered)
    if rest == lowered:
        return False
    words = re.findall(r"[a-z'-]+", rest)
    return all(word in _DETAIL_WORDS for word in words)


class IntentClassifier(Protocol):
    """What the router needs of a trained classifier (linear or semantic)."""

    def predict(self, text: str) -> tuple[str, float]: ...

    def scores(self, text: str) -> list[Scored]: ...

    def save(self, path: Path) -> None: ...


def catalog_examples(catalog: IntentCatalog) -> list[tuple[str, str]]:
    return [(e, spec.name) for spec in catalog.intents.values() for e in spec.examples]


def train_classifier(catalog: IntentCatalog) -> LinearIntentClassifier:
    return LinearIntentClassifier().fit(catalog_examples(catalog), catalog.out_of_scope)


@dataclass(frozen=True, slots=True)
class Intent:
    route: str
    name: str
    confidence: float
    tier: str  # rule | classifier | context | fallback
    elapsed_ms: float = 0.0


class Router:
    def __init__(
        self,
        catalog: IntentCatalog,
        default_route: str,
        threshold: float,
        follow_up_threshold: float = 0.5,
        follow_up_max_words: int = 4,
        classifier: IntentClassifier | None = None,
    ) -> None:
        self.catalog = catalog
        self.default_route = default_route
        self.threshold = threshold
        # Short messages ("and the red one?", "yes please") need a clearer signal to switch
        # an ongoing conversation to another route.
        self.follow_up_threshold = follow_up_threshold
        self.follow_up_max_words = follow_up_max_words
        self.classifier: IntentClassifier = classifier or train_classifier(catalog)

    def classify(self, text: str, current_route: str | None = None) -> Intent:
        started = time.perf_counter()

        def done(route: str, name: str, confidence: float, tier: str) -> Intent:
            return Intent(route, name, round(confidence, 4), tier, (time.perf_counter() - started) * 1000)

        lowered = text.lower()
        for rule in self.catalog.rules:
            if rule.matches(lowered):
                return done(rule.route, rule.intent, 1.0, "rule")
        if current_route and only_details(lowered):
            # "98103" or "it's ana@example.com", answering the bot's question: the conversation
            # goes on where it was (a cancellation stays one), whatever the digits look like.
            return done(current_route, FOLLOW_UP, 1.0, "context")
        best, confidence = self.classifier.predict(text)
        needed = self.threshold
        short = len(text.split()) <= self.follow_up_max_words
        if current_route and short:
            needed = max(needed, self.follow_up_threshold)
        if best and confidence >= needed:
            return done(self.catalog.intents[best].route, best, confidence, "classifier")
        if current_route:
            # "and the red one?" continues whatever the conversation was about; a longer
            # message nobody can place is unknown, but still stays where the conversation is.
            return done(current_route, FOLLOW_UP if short else UNKNOWN, confidence, "context")
        return done(self.default_route, UNKNOWN, confidence, "fallback")

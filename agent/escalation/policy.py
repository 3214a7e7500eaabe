"""When a conversation goes to a person. Pure decisions: text and outcomes in, a verdict out."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class EscalationDecision:
    escalate: bool
    reason: str | None = None
    detail: str | None = None


STAY = EscalationDecision(False)


class EscalationPolicy:
    def __init__(
        self,
        intents: Iterable[str],
        phrases: Iterable[str],
        on_chain_exhausted: bool = True,
        unknown_streak: int = 0,
    ) -> None:
        self._intents = frozenset(intents)
        self._phrases = tuple(p.lower() for p in phrases)
        self._on_chain_exhausted = on_chain_exhausted
        self._unknown_streak = unknown_streak

    def before_model(self, text: str, intent_name: str, unknown_streak: int = 0) -> EscalationDecision:
        """The customer asked for a person, or the router has not placed several turns in a row."""
        if intent_name in self._intents:
            return EscalationDecision(True, "customer_request", f"intent {intent_name}")
        lowered = text.lower()
        for phrase in self._phrases:
            if phrase in lowered:
                return EscalationDecision(True, "customer_request", f"phrase {phrase!r}")
        if self._unknown_streak and unknown_streak >= self._unknown_streak:
            return EscalationDecision(True, "not_understood", f"{unknown_streak} turns in a row not understood")
        return STAY

    def after_model(self, answered: bool, failures: list[str]) -> EscalationDecision:
        """Every model in the chain failed: a person picks the conversation up."""
        if answered or not self._on_chain_exhausted:
            return STAY
        return EscalationDecision(True, "chain_exhausted", ", ".join(failures) or "no model answered")

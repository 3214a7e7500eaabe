"""When a conversation goes to a person. Pure decisions: text and outcomes in, a verdict out."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from agent.consent import is_yes, offers_a_person
from agent.escalation.signals import frustration, repeats, sensitive_topic


@dataclass(frozen=True, slots=True)
class EscalationDecision:
    escalate: bool
    reason: str | None = None
    detail: str | None = None


STAY = EscalationDecision(False)


@dataclass(frozen=True, slots=True)
class History:
    """What was said before this turn, as the policy needs it."""

    customer: Sequence[str] = ()
    bot: Sequence[str] = ()


@dataclass(frozen=True, slots=True)
class Triggers:
    """Which automatic triggers are on, and their settings."""

    frustration_threshold: float = 0.0  # 0: off
    sensitive_topics: Mapping[str, Sequence[str]] = field(default_factory=dict)
    on_repeat: bool = False


class EscalationPolicy:
    def __init__(
        self,
        intents: Iterable[str],
        phrases: Iterable[str],
        on_chain_exhausted: bool = True,
        unknown_streak: int = 0,
        triggers: Triggers = Triggers(),
        identity_intents: Iterable[str] = (),
    ) -> None:
        self._intents = frozenset(intents)
        # Questions about the bot ("are you a real person?"): answered, never read as a request
        # for a person, whatever phrases they contain.
        self._identity_intents = frozenset(identity_intents)
        self._phrases = tuple(p.lower() for p in phrases)
        self._on_chain_exhausted = on_chain_exhausted
        self._unknown_streak = unknown_streak
        self._triggers = triggers

    def before_model(
        self, text: str, intent_name: str, unknown_streak: int = 0, history: History = History()
    ) -> EscalationDecision:
        """The customer asked for a person, raised a sensitive topic, is frustrated, or the
        router has not placed several turns in a row."""
        if intent_name in self._intents:
            return EscalationDecision(True, "customer_request", f"intent {intent_name}")
        lowered = text.lower()
        for phrase in () if intent_name in self._identity_intents else self._phrases:
            if phrase in lowered:
                return EscalationDecision(True, "customer_request", f"phrase {phrase!r}")
        topic = sensitive_topic(text, self._triggers.sensitive_topics)
        if topic:
            return EscalationDecision(True, "sensitive_topic", topic)
        threshold = self._triggers.frustration_threshold
        if threshold:
            score = frustration(text, history.customer)
            if score >= threshold:
                return EscalationDecision(True, "frustration", f"score {score:.1f}")
        if history.bot and offers_a_person(history.bot[-1]) and is_yes(text):
            return EscalationDecision(True, "customer_request", "said yes to the person offered")
        if self._unknown_streak and unknown_streak >= self._unknown_streak:
            return EscalationDecision(True, "not_understood", f"{unknown_streak} turns in a row not understood")
        return STAY

    def after_model(
        self, answered: bool, failures: list[str], reply: str | None = None, history: History = History()
    ) -> EscalationDecision:
        """Every model in the chain failed, or the answer repeats one the bot just gave."""
        if not answered:
            if not self._on_chain_exhausted:
                return STAY
            return EscalationDecision(True, "chain_exhausted", ", ".join(failures) or "no model answered")
        if self._triggers.on_repeat and reply and repeats(reply, history.bot):
            return EscalationDecision(True, "bot_repeating", "the answer repeats an earlier one")
        return STAY

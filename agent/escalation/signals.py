"""Light scorers for escalation: frustration, sensitive topics and a bot repeating itself.

No model is needed: these look at the wording and at what was said before.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

_WORD = re.compile(r"[a-z']+")
NEGATIVE = (
    "ridiculous", "useless", "terrible", "awful", "worst", "angry", "furious", "unacceptable",
    "scam", "stupid", "wtf", "hate", "pathetic", "disgusting", "fed up", "sick of",
    "waste of time", "not helpful", "no help", "joke", "incompetent", "never again",
)


def normalize(text: str) -> str:
    return " ".join(_WORD.findall(text.lower()))


def frustration(text: str, earlier_customer_texts: Sequence[str]) -> float:
    """0 (calm) to 1: shouting, runs of "!!", negative wording, and saying the same thing again."""
    score = 0.0
    letters = [c for c in text if c.isalpha()]
    if len(letters) >= 8 and sum(c.isupper() for c in letters) / len(letters) > 0.6:
        score += 0.4
    if "!!" in text or "??" in text:
        score += 0.2
    lowered = f" {normalize(text)} "
    score += 0.3 * sum(f" {phrase} " in lowered for phrase in NEGATIVE)
    said = normalize(text)
    if said and any(normalize(earlier) == said for earlier in earlier_customer_texts[-3:]):
        score += 0.4
    return min(score, 1.0)


def sensitive_topic(text: str, topics: Mapping[str, Sequence[str]]) -> str | None:
    """The first configured topic one of whose phrases the text contains."""
    lowered = f" {normalize(text)} "
    for topic, phrases in topics.items():
        if any(f" {normalize(phrase)} " in lowered for phrase in phrases):
            return topic
    return None


def repeats(reply: str, earlier_bot_texts: Sequence[str], times: int = 2) -> bool:
    """The bot is stuck: it is about to send, word for word, what it said the last `times` times.

    Saying the same thing twice can be right (the order's status has not changed); a third
    time in a row, the customer is not getting anywhere.
    """
    said = normalize(reply)
    last = earlier_bot_texts[-times:]
    return bool(said) and len(last) == times and all(normalize(earlier) == said for earlier in last)

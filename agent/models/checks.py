"""Is an answer good enough to send, or should a cascade ask the next (stronger) model?

Each check is cheap text inspection; which ones run is configured per route.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from agent.models.base import ChatMessage, ChatRequest, ChatResult

REFUSALS = (
    "i can't help with", "i cannot help with", "i can't assist", "i cannot assist", "i'm unable to",
    "i am unable to", "i won't be able to", "i'm not able to", "i am not able to", "as an ai",
)  # fmt: skip
DONT_KNOW = (
    "i don't know", "i do not know", "i'm not sure", "i am not sure", "i don't have that information",
    "i don't have information", "i have no information", "no idea",
)  # fmt: skip
_CONFIDENCE = re.compile(r"^\s*\(?confidence\s*[:=]\s*(\d{1,3}(?:\.\d+)?\s*%|[01](?:\.\d+)?|\.\d+)\)?\s*\.?\s*$", re.I | re.M)
CONFIDENCE_INSTRUCTION = (
    "After your answer, on a line of its own, write `Confidence: X`, where X from 0 to 1 is how "
    "sure you are that the answer is correct and complete."
)


@dataclass(frozen=True, slots=True)
class AnswerChecks:
    refusal: bool = True
    dont_know: bool = True
    empty: bool = True
    cut_off: bool = True
    min_confidence: float | None = None  # asks the model to rate itself; below this escalates
    phrases: tuple[str, ...] = ()  # more phrases that mean "escalate"

    def failed(self, result: ChatResult, confidence: float | None = None) -> str | None:
        """The name of the first check the answer fails, or None if it passes them all."""
        text = result.text.strip().lower()
        # Nothing left to send (an answer that was only its "Confidence:" line, say) never
        # passes; with `empty` off, a raw empty answer is the model's bad_response before this.
        if not text and not result.tool_calls:
            return "empty"
        if self.cut_off and result.finish_reason == "length":
            return "cut_off"
        head = text[:300]
        if self.refusal and any(p in head for p in REFUSALS):
            return "refusal"
        if self.dont_know and any(p in head for p in DONT_KNOW):
            return "dont_know"
        if any(p.lower() in text for p in self.phrases):
            return "phrase"
        if self.min_confidence is not None and (confidence is None or confidence < self.min_confidence):
            return "low_confidence"
        return None


def last_resort(failed: str | None) -> bool:
    """Whether an answer that failed `failed` may still go out when nothing better came: any
    answer but an empty one, which has nothing to send."""
    return failed != "empty"


def ask_for_confidence(request: ChatRequest) -> ChatRequest:
    return replace(request, messages=[*request.messages[:-1], ChatMessage("system", CONFIDENCE_INSTRUCTION), request.messages[-1]])


def take_confidence(result: ChatResult) -> tuple[ChatResult, float | None]:
    """The self-reported confidence, and the answer without that line."""
    matches = list(_CONFIDENCE.finditer(result.text))
    if not matches:
        return result, None
    raw = matches[-1].group(1).replace(" ", "")
    value = float(raw.rstrip("%")) / 100 if raw.endswith("%") else float(raw)
    text = _CONFIDENCE.sub("", result.text).rstrip()
    return replace(result, text=text), max(0.0, min(1.0, value))

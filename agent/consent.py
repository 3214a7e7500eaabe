"""Whether a customer said yes: to a change the bot asked about, or to the person it offered.

Only an explicit yes counts. "yes but…", "no", "wait", "what would that cost?" and anything
else do not: a customer who meant yes says it again, one who did not loses nothing.
"""

from __future__ import annotations

import re
import string

_YES = {
    "yes", "y", "yeah", "yep", "yup", "yes please", "yes, please", "please do", "do it", "go ahead",
    "yes go ahead", "yes, go ahead", "yes do it", "yes, do it", "confirm", "confirmed", "i confirm",
    "sure", "ok", "okay", "ok go ahead", "okay go ahead", "correct", "that's right", "yes that's right",
    "yes, that's right", "absolutely", "yes cancel it", "yes, cancel it", "cancel it",
    "yes please cancel it", "yes, please cancel it", "si", "oui", "ja",
}  # fmt: skip
_NEGATIONS = re.compile(r"\b(no|not|don'?t|do not|never|wait|stop|hold on|but|instead|cancel that|nope|nah)\b", re.IGNORECASE)
_TRAILING = string.punctuation + " \t\n!👍"
_THUMBS = ("👍", "👍🏻", "👍🏼", "👍🏽", "👍🏾", "👍🏿", "✅")


def is_yes(text: str) -> bool:
    """Whether a message is an explicit yes and nothing more."""
    if text.strip() in _THUMBS:
        return True  # before the strip below, which takes the thumb away too
    said = " ".join(text.strip().lower().replace("’", "'").split()).strip(_TRAILING)
    if not said or len(said) > 40:
        return False
    if said in _YES or said.rstrip(".!") in _YES:
        return True
    # "yes, the blue one": a yes and a few words; "yesterday" is not a yes.
    first = said.split()[0].strip(string.punctuation)
    return first == "yes" and not _NEGATIONS.search(said) and len(said.split()) <= 4


_OFFER = re.compile(
    r"\b(connect|put|pass|hand|transfer)\s+you\s+(over\s+)?(with|through\s+to|to)\s+"
    r"(a\s+person|someone|somebody|a\s+member|a\s+human|our\s+(customer\s+care\s+|support\s+)?team|a\s+colleague)",
    re.IGNORECASE,
)


def offers_a_person(text: str) -> bool:
    """Whether the bot's message offers to connect the customer with a person."""
    return "?" in text and _OFFER.search(text) is not None

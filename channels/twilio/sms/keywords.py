"""SMS keywords (STOP, START, HELP…): which one a message is, if any. Pure.

Like Twilio's own handling, a keyword is the whole message, in any case, with surrounding
whitespace and trailing punctuation ignored ("Stop." is STOP; "stop texting me" is a message).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass

# Twilio's default keyword lists.
OPT_OUT_KEYWORDS = ("STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "OPTOUT", "REVOKE")
OPT_IN_KEYWORDS = ("START", "UNSTOP", "YES")
HELP_KEYWORDS = ("HELP", "INFO")


class Keyword(str, enum.Enum):
    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"
    HELP = "help"


def normalize(text: str) -> str:
    return text.strip().rstrip(".!?").strip().upper()


@dataclass(frozen=True, slots=True)
class Keywords:
    opt_out: frozenset[str] = frozenset(OPT_OUT_KEYWORDS)
    opt_in: frozenset[str] = frozenset(OPT_IN_KEYWORDS)
    help: frozenset[str] = frozenset(HELP_KEYWORDS)

    @classmethod
    def of(cls, opt_out: Iterable[str], opt_in: Iterable[str], help: Iterable[str]) -> "Keywords":
        return cls(*(frozenset(normalize(word) for word in words) for words in (opt_out, opt_in, help)))

    def classify(self, text: str, opted_out: bool) -> Keyword | None:
        """The keyword `text` is, or None for an ordinary message.

        An opt-in word counts only from an opted-out number: "Yes" is otherwise an answer to
        the bot's question, not a subscription.
        """
        word = normalize(text)
        if word in self.opt_out:
            return Keyword.OPT_OUT
        if word in self.help:
            return Keyword.HELP
        if word in self.opt_in and opted_out:
            return Keyword.OPT_IN
        return None

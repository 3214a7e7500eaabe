"""The optional last tier: ask a language model to name the intent of a turn nobody placed.

Routing stays free of model code: the caller hands in `ask`, a coroutine from prompt to answer.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from agent.routing.intents import IntentCatalog

Ask = Callable[[str], Awaitable[str | None]]
_WORD = re.compile(r"[a-z_]+")


class ModelIntentTier:
    def __init__(self, catalog: IntentCatalog, ask: Ask, examples_per_intent: int = 2) -> None:
        self.catalog = catalog
        self._ask = ask
        lines = []
        for spec in catalog.intents.values():
            shown = "; ".join(f'"{e}"' for e in spec.examples[:examples_per_intent])
            lines.append(f"- {spec.name}: e.g. {shown}")
        self._menu = "\n".join(lines)

    def prompt(self, text: str) -> str:
        return (
            "Classify the customer's message into exactly one of these intents, or `unknown` "
            "if none fits. Answer with the intent name only.\n\n"
            f"{self._menu}\n\nCustomer's message: {text!r}\nIntent:"
        )

    async def classify(self, text: str) -> str | None:
        """The intent the model names, if it names one we know."""
        answer = await self._ask(self.prompt(text))
        if not answer:
            return None
        for word in _WORD.findall(answer.lower()):
            if word in self.catalog.intents:
                return word
        return None

"""How the local model uses the tools a route offers: it asks for them as a hosted model would
(a `ToolCall` in its result) and answers from what they return.

It knows the demo's tools by name (`lookup_order`, `cancel_order`, `verify_customer`,
`search_knowledge`); a deployment that names its own differently is served by a hosted model.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from agent.models.base import ChatRequest, ToolCall
from agent.models.local.catalog import ORDER_NUMBER, find_order_number

LOOKUP, CANCEL, VERIFY, SEARCH = "lookup_order", "cancel_order", "verify_customer", "search_knowledge"
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
POSTCODE = re.compile(r"\b\d{5}(?:-\d{4})?\b")
ASK_NUMBER = "What's your order number? It's in your confirmation email and looks like NW-12345."
ASK_PROOF = (
    "I can help with order {number}. To keep order details private, I first need to check it's "
    "you: what's the email address or postcode on the order?"
)
NO_MATCH = "That doesn't match what we have for order {number}. Could you check the email address or postcode on the order?"
UNREACHABLE = (
    "I couldn't reach our order system just now, so I can't check that myself. "
    "Would you like me to connect you with a person on our team?"
)


@dataclass(frozen=True, slots=True)
class ToolResult:
    name: str
    arguments: dict[str, Any]
    data: Any


def results_this_turn(request: ChatRequest) -> list[ToolResult]:
    """The tool results after the customer's last message, each with the call it answers."""
    last_user = max((i for i, m in enumerate(request.messages) if m.role == "user"), default=-1)
    calls: dict[str, ToolCall] = {}
    results: list[ToolResult] = []
    for message in request.messages[last_user + 1 :]:
        for call in message.tool_calls:
            calls[call.id] = call
        if message.role == "tool":
            call = calls.get(message.tool_call_id or "")
            name = message.name or (call.name if call else "")
            try:
                arguments = json.loads(call.arguments) if call else {}
                data = json.loads(message.content)
            except ValueError:
                arguments, data = {}, {"error": "garbled result"}
            results.append(ToolResult(name, arguments, data))
    return results


def proof_in(text: str) -> dict[str, str]:
    """An email address or a postcode the customer gave, as verify_customer takes it."""
    email = EMAIL.search(text)
    if email:
        return {"email": email.group()}
    postcode = POSTCODE.search(ORDER_NUMBER.sub(" ", text))
    return {"postcode": postcode.group()} if postcode else {}


def order_in_conversation(request: ChatRequest) -> tuple[str | None, bool]:
    """The latest order number the customer gave, and whether they asked to cancel it."""
    for message in reversed(request.messages):
        if message.role != "user":
            continue
        number = find_order_number(message.content)
        if number:
            return number, "cancel" in message.content.lower()
    return None, False


def call(name: str, arguments: dict[str, Any], step: int) -> ToolCall:
    return ToolCall(f"local-{name}-{step}", name, json.dumps(arguments))


def is_error(data: Any) -> bool:
    return isinstance(data, dict) and "error" in data and len(data) <= 2


def error_text(data: Any) -> str:
    return str(data.get("error") or "") if isinstance(data, dict) else ""

"""The built-in local model: answers from the retrieved passages and the demo tables, no key needed.

It is a retrieval model, not a language model: it composes its answer from the order table,
the catalog and the best passage the turn retrieved from the knowledge base (the same passages
a hosted model is given, cited the same way), and says plainly when it has nothing to go on.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator
from datetime import date

from typing import Any

from agent.models.base import ChatRequest, ChatResult, StreamEvent, TextDelta, ToolCall
from agent.models.local import tools
from agent.models.local.catalog import Catalog, Product, find_order_number

ORDER_INTENTS = {"order_status", "cancel_order"}
NOT_NOW = re.compile(r"not possible while status is '([a-z_]+)'")
PRODUCT_INTENTS = {"product_info", "pricing", "product_recommendation", "purchase_intent"}
SORRY_INTENTS = {"complaint", "damaged_item", "refund_request", "payment_issue", "warranty_repair"}

STATUS_TEXT = {
    "processing": "is being prepared in our warehouse and hasn't shipped yet",
    "shipped": "has shipped",
    "out_for_delivery": "is out for delivery today",
    "delivered": "was delivered",
    "cancelled": "was cancelled",
    "returned": "was returned to us",
    "delayed": "is delayed",
}


def _day(value: str | None) -> str:
    if not value:
        return ""
    try:
        return date.fromisoformat(value).strftime("%B %-d")
    except ValueError:
        return value


def describe_order(order: dict[str, Any]) -> str:
    """An order as the business's system returned it (lookup_order's fields), in a sentence or three."""
    number, status = order.get("number") or "", str(order.get("status") or "unknown")
    items = ", ".join(f"{item.get('qty', 1)}× {item.get('name', item.get('sku', 'item'))}" for item in order.get("items") or [] if isinstance(item, dict))
    parts = [f"Order {number}{f' ({items})' if items else ''} {STATUS_TEXT.get(status, 'is ' + status)}."]
    carrier, tracking = order.get("carrier"), order.get("tracking_number")
    if carrier and tracking and status in {"shipped", "out_for_delivery", "delayed", "delivered"}:
        parts.append(f"It's with {carrier}, tracking number {tracking}.")
    if order.get("eta") and status in {"processing", "shipped", "out_for_delivery", "delayed"}:
        parts.append(f"Expected delivery: {_day(str(order['eta']))}.")
    if order.get("note"):
        parts.append(str(order["note"]).rstrip(".") + ".")
    return " ".join(parts)


def describe_cancellation(result: dict[str, Any]) -> str:
    refund = result.get("refund") or {}
    amount = refund.get("amount") if isinstance(refund, dict) else None
    money = f" A refund of ${float(amount):,.2f} goes back to {refund.get('to') or 'your original payment method'}; it usually shows within 5-10 business days." if amount is not None else ""
    return f"Done: order {result.get('number', '')} is cancelled.{money}"


def describe_product(product: Product) -> str:
    stock = "in stock" if product.in_stock else "currently out of stock"
    colors = f", in {', '.join(product.colors)}" if product.colors else ""
    return f"{product.name}: ${product.price:,.2f}, {stock}{colors}. {product.description}"


class LocalModel:
    provider = "local"

    def __init__(
        self,
        catalog: Catalog,
        greeting: str,
        fallback: str,
        name: str = "local",
        timeout_s: float = 5.0,
        identity: str = "",
    ) -> None:
        self.name = name
        self.timeout_s = timeout_s
        self._catalog = catalog
        self._greeting = greeting
        self._fallback = fallback
        self._identity = identity

    async def complete(self, request: ChatRequest) -> ChatResult:
        started = time.perf_counter()
        answer = self.answer(request)
        text, calls = (answer, ()) if isinstance(answer, str) else ("", answer)
        prompt_words = sum(len(m.content.split()) for m in request.messages)
        return ChatResult(
            text=text,
            model=self.name,
            # Word counts stand in for tokens: there is no tokenizer and nothing to bill.
            input_tokens=prompt_words,
            output_tokens=len(text.split()),
            latency_ms=(time.perf_counter() - started) * 1000,
            finish_reason="tool_calls" if calls else "stop",
            tool_calls=calls,
        )

    async def stream(self, request: ChatRequest) -> AsyncIterator[StreamEvent]:
        result = await self.complete(request)
        for i, word in enumerate(result.text.split(" ") if result.text else ()):
            yield TextDelta(word if i == 0 else " " + word)
            await asyncio.sleep(0)
        yield result

    def answer(self, request: ChatRequest) -> str | tuple[ToolCall, ...]:
        """The answer's text, or the tools to call first."""
        text = request.last_user_text
        intent = request.metadata.get("intent")
        offered = {t.name for t in request.tools} if request.tool_choice != "none" else set()
        done = tools.results_this_turn(request)
        if done:
            return self._from_results(request, done, offered)
        proof = tools.proof_in(text)
        if proof and tools.VERIFY in offered:
            # "it's ana@example.com" after an order we could not show before they proved it was
            # theirs, or the order and the proof in one message: proved first, then looked up.
            number, _ = tools.order_in_conversation(request)
            if number:
                return (tools.call(tools.VERIFY, {"order_id": number, **proof}, 1),)
        if intent in ORDER_INTENTS or find_order_number(text):
            return self._order(request, intent, offered)
        if intent == "greeting":
            return self._greeting
        if intent == "bot_identity" and self._identity:
            return self._identity
        if intent == "thanks":
            return "You're welcome! Is there anything else I can help with?"

        # A message the router could not place needs more than one shared word to be about a
        # product: "what's the weather?" after a boot question is not about the sleeping bag
        # whose keywords say "weather".
        products = self._catalog.match_products(text, min_shared=2 if intent in (None, "unknown") else 1)
        if products and (intent in PRODUCT_INTENTS or request.route == "sales"):
            lines = [describe_product(p) for p in products]
            if request.route == "sales":
                lines.append("Would you like help choosing a size or colour?")
            return "\n".join(lines)

        article = _best_passage(request)
        if article:
            # "my tent pole snapped" is a problem to be sorry about; "how long is the warranty?" is a question.
            sorry = intent in SORRY_INTENTS and not _asks(text)
            return f"I'm sorry about that. {article}" if sorry else article
        # A product that shares a word with a question about something else ("weather") is no
        # answer to it: the honest "not sure", and a person offered.
        return self._fallback

    def _order(self, request: ChatRequest, intent: str | None, offered: set[str]) -> str | tuple[ToolCall, ...]:
        """An order question: the tool that answers it, or the order number asked for."""
        number = find_order_number(request.last_user_text)
        if number is None:
            # "where is it?" after giving the number two messages ago
            number, _ = tools.order_in_conversation(request)
        cancelling = intent == "cancel_order"
        wanted = tools.CANCEL if cancelling else tools.LOOKUP
        if number is None:
            article = _best_passage(request) if cancelling else None
            return f"{article} {tools.ASK_NUMBER}" if article else f"I can check that for you. {tools.ASK_NUMBER}"
        if wanted in offered:
            return (tools.call(wanted, {"order_id": number}, 1),)
        if tools.LOOKUP in offered:
            return (tools.call(tools.LOOKUP, {"order_id": number}, 1),)
        return f"I can't look up order {number} from here. Would you like me to connect you with a person on our team?"

    def _from_results(self, request: ChatRequest, done: list[tools.ToolResult], offered: set[str]) -> str | tuple[ToolCall, ...]:
        """The answer from what the tools returned this turn (the last one decides)."""
        last = done[-1]
        number = str(last.arguments.get("order_id") or "")
        data = last.data
        if last.name == tools.VERIFY:
            if isinstance(data, dict) and data.get("verified") is True:
                asked, cancelling = tools.order_in_conversation(request)
                wanted = tools.CANCEL if cancelling and tools.CANCEL in offered else tools.LOOKUP
                if wanted in offered and not any(r.name == wanted for r in done):
                    return (tools.call(wanted, {"order_id": asked or number}, len(done) + 1),)
            if tools.is_error(data):
                return tools.UNREACHABLE
            return tools.NO_MATCH.format(number=number)
        if last.name == tools.SEARCH:
            article = _best_passage(request)
            return article or self._fallback
        if tools.is_error(data):
            error = tools.error_text(data)
            if "not verified" in error:
                return tools.ASK_PROOF.format(number=number)
            if error.startswith("404"):
                return (
                    f"I couldn't find an order {number} under your details. Could you double-check the number? "
                    "It's in your confirmation email and looks like NW-12345."
                )
            blocked = NOT_NOW.match(error)
            if blocked and last.name == tools.CANCEL:
                state = STATUS_TEXT.get(blocked.group(1), "is " + blocked.group(1))
                return f"Order {number} {state}, so it can no longer be cancelled. Would you like help with a return instead?"
            if error.startswith("409"):
                reason = error.partition(": ")[2].rstrip(".")
                return reason[:1].upper() + reason[1:] + ". Would you like help with a return instead?"
            return tools.UNREACHABLE
        if last.name == tools.CANCEL and isinstance(data, dict):
            return describe_cancellation(data)
        if last.name == tools.LOOKUP and isinstance(data, dict):
            answer = describe_order(data)
            if request.metadata.get("intent") == "cancel_order":
                article = _best_passage(request)
                answer += " " + article if article else ""
            return answer
        return _best_passage(request) or self._fallback


QUESTION_WORDS = frozenset("how what whats what's when where which who why do does did is are can could will would should".split())


def _asks(text: str) -> bool:
    """Whether a message opens as a question ("how long is the warranty"), not as a problem."""
    first = text.strip().lower().split(maxsplit=1)[:1]
    return bool(first) and first[0].strip(",.!?") in QUESTION_WORDS


def _best_passage(request: ChatRequest) -> str | None:
    """The top passage the turn retrieved, cited as the prompt numbers it."""
    if not request.passages:
        return None
    return f"{request.passages[0].text} [R1]"

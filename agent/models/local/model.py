"""The built-in local model: answers from the retrieved passages and the demo tables, no key needed.

It is a retrieval model, not a language model: it composes its answer from the order table,
the catalog and the best passage the turn retrieved from the knowledge base (the same passages
a hosted model is given, cited the same way), and says plainly when it has nothing to go on.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import date

from agent.models.base import ChatRequest, ChatResult, StreamEvent, TextDelta
from agent.models.local.catalog import Catalog, Order, Product, find_order_number

ORDER_INTENTS = {"order_status", "cancel_order"}
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


def describe_order(order: Order) -> str:
    items = ", ".join(f"{item.get('qty', 1)}× {item.get('name', item.get('sku', 'item'))}" for item in order.items)
    parts = [f"Order {order.number} ({items}) {STATUS_TEXT.get(order.status, 'is ' + order.status)}."]
    if order.carrier and order.tracking and order.status in {"shipped", "out_for_delivery", "delayed", "delivered"}:
        parts.append(f"It's with {order.carrier}, tracking number {order.tracking}.")
    if order.eta and order.status in {"processing", "shipped", "out_for_delivery", "delayed"}:
        parts.append(f"Expected delivery: {_day(order.eta)}.")
    if order.note:
        parts.append(order.note.rstrip(".") + ".")
    return " ".join(parts)


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
        text = self.answer(request)
        prompt_words = sum(len(m.content.split()) for m in request.messages)
        return ChatResult(
            text=text,
            model=self.name,
            # Word counts stand in for tokens: there is no tokenizer and nothing to bill.
            input_tokens=prompt_words,
            output_tokens=len(text.split()),
            latency_ms=(time.perf_counter() - started) * 1000,
        )

    async def stream(self, request: ChatRequest) -> AsyncIterator[StreamEvent]:
        result = await self.complete(request)
        for i, word in enumerate(result.text.split(" ")):
            yield TextDelta(word if i == 0 else " " + word)
            await asyncio.sleep(0)
        yield result

    def answer(self, request: ChatRequest) -> str:
        text = request.last_user_text
        intent = request.metadata.get("intent")
        earlier = [m.content for m in request.messages[:-1] if m.role == "user"]

        number = find_order_number(text)
        if number is None and intent in ORDER_INTENTS:
            # "where is it?" after giving the number two messages ago
            number = next((n for n in map(find_order_number, reversed(earlier)) if n), None)
        if number:
            order = self._catalog.order(number)
            if order is None:
                return (
                    f"I couldn't find an order {number}. Could you double-check the number? "
                    "It's in your confirmation email and looks like NW-12345."
                )
            answer = describe_order(order)
            if intent == "cancel_order":
                article = _best_passage(request)
                answer += " " + article if article else ""
            return answer
        if intent in ORDER_INTENTS:
            article = _best_passage(request) if intent == "cancel_order" else None
            ask = "What's your order number? It's in your confirmation email and looks like NW-12345."
            return f"{article} {ask}" if article else f"I can check that for you. {ask}"
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
            return f"I'm sorry about that. {article}" if intent in SORRY_INTENTS else article
        # A product that shares a word with a question about something else ("weather") is no
        # answer to it: the honest "not sure", and a person offered.
        return self._fallback


def _best_passage(request: ChatRequest) -> str | None:
    """The top passage the turn retrieved, cited as the prompt numbers it."""
    if not request.passages:
        return None
    return f"{request.passages[0].text} [R1]"

"""The demo business's order system, in memory: look-ups, cancellations, identity checks, product search.

Pure: no HTTP. Each instance holds its own copy of the orders, so a cancellation in one never
shows in another (each app, each test, starts from the files).
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, replace

from agent.demo_store.data import Order, Product
from agent.terms import tokens

REFUND_TO = "the original payment method"

# Why an order in each status can no longer be cancelled, and what the customer can do instead.
_NOT_CANCELLABLE = {
    "shipped": "has shipped, so it can no longer be cancelled; it can be returned once it arrives",
    "out_for_delivery": "is out for delivery, so it can no longer be cancelled; it can be returned once it arrives",
    "delayed": "has shipped and is delayed in transit, so it can no longer be cancelled; it can be returned once it arrives",
    "delivered": "has been delivered, so it can no longer be cancelled; it can be returned instead",
    "cancelled": "is already cancelled",
    "returned": "has been returned, so there is nothing left to cancel",
}


class NotCancellable(Exception):
    """The order exists and is the customer's, but its status rules a cancellation out."""


@dataclass(frozen=True, slots=True)
class Cancellation:
    order: Order
    refund: float


def order_key(number: str) -> str:
    """The key an order number is looked up by: "nw-10482 " and "NW-10482" are the same order."""
    return number.strip().upper()


def _same_text(sent: str, expected: str) -> bool:
    # Constant time, and safe for anything a client sends (a lone surrogate encodes with surrogatepass).
    return hmac.compare_digest(sent.encode("utf-8", "surrogatepass"), expected.encode("utf-8", "surrogatepass"))


def same_email(sent: str, expected: str) -> bool:
    return _same_text(sent.strip().casefold(), expected.strip().casefold())


def same_postcode(sent: str, expected: str) -> bool:
    return _same_text("".join(sent.split()).casefold(), "".join(expected.split()).casefold())


class DemoStore:
    def __init__(self, orders: list[Order], products: list[Product]) -> None:
        self._orders = {order_key(o.number): o for o in orders}
        self._products = {p.sku.upper(): p for p in products}
        # Name, category, keywords and SKU say what a product is; its description only backs that up.
        self._terms = [
            (p, set(tokens(" ".join((p.sku, p.name, p.category, *p.keywords)))), set(tokens(p.description))) for p in products
        ]

    def order(self, number: str, customer: str | None = None) -> Order | None:
        """The order, or None when there is none or, with `customer` (an email), it is someone else's."""
        order = self._orders.get(order_key(number))
        if order is None or (customer is not None and not same_email(customer, order.email)):
            return None
        return order

    def cancel(self, number: str, customer: str | None = None) -> Cancellation | None:
        """Cancel an order still being processed; None as `order` does; NotCancellable past that."""
        order = self.order(number, customer)
        if order is None:
            return None
        if order.status != "processing":
            reason = _NOT_CANCELLABLE.get(order.status, f"is {order.status.replace('_', ' ')}, so it can no longer be cancelled")
            raise NotCancellable(f"order {order.number} {reason}")
        cancelled = replace(
            order,
            status="cancelled",
            eta=None,
            note=f"Cancelled at the customer's request; a refund of ${order.total:,.2f} goes back to {REFUND_TO}",
        )
        self._orders[order_key(order.number)] = cancelled
        return Cancellation(cancelled, order.total)

    def verify(self, order_id: str, email: str | None, postcode: str | None) -> str | None:
        """The order's email when `email` or `postcode` is that order's; None otherwise, an unknown order too."""
        order = self._orders.get(order_key(order_id))
        if order is None:
            return None
        if (email is not None and same_email(email, order.email)) or (
            postcode is not None and same_postcode(postcode, order.postcode)
        ):
            return order.email
        return None

    def product(self, sku: str) -> Product | None:
        return self._products.get(sku.strip().upper())

    def search(self, text: str, limit: int) -> list[Product]:
        """Products sharing words with `text`, most shared words first (name, category and keywords
        before the description), in catalog order among equals."""
        query = set(tokens(text))
        if not query:
            return []
        scored = [(len(query & named), len(query & described), p) for p, named, described in self._terms]
        ranked = sorted((s for s in scored if s[0] or s[1]), key=lambda s: (-s[0], -s[1]))
        return [product for _, _, product in ranked[:limit]]

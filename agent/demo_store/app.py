"""The demo business's order system as a small JSON API: what an operator's own system offers the
agent's `http` tools. Every error is `{"error": "..."}` with a 4xx; nothing a client sends gets a 5xx.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import structlog
from aiohttp import web

from agent.demo_store.data import DEMO_CATALOG, DEMO_ORDERS, Order, Product, load_catalog, load_orders
from agent.demo_store.store import REFUND_TO, DemoStore, NotCancellable
from agent.text import clean

log = structlog.get_logger(__name__)

MAX_BODY = 16 * 1024
BODY_TIMEOUT_S = 10.0
MAX_LIMIT = 50
STORE = web.AppKey("demo_store", DemoStore)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Refused(Exception):
    """A request answered with a 4xx and `{"error": message}`, raised where it is found out."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


def error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


def create_demo_store(orders_path: Path = DEMO_ORDERS, catalog_path: Path = DEMO_CATALOG) -> web.Application:
    """The API over the orders and catalog files, with its own copy of them in memory.

    Raises DataError when a file cannot be read or lacks what the API needs."""
    app = web.Application(middlewares=[_errors_and_log], client_max_size=MAX_BODY)
    app[STORE] = DemoStore(load_orders(orders_path), load_catalog(catalog_path))
    app.router.add_get("/healthz", _health)
    app.router.add_get("/api/orders/{number}", _get_order)
    app.router.add_post("/api/orders/{number}/cancel", _cancel_order)
    app.router.add_post("/api/customers/verify", _verify_customer)
    app.router.add_get("/api/products", _search_products)
    app.router.add_get("/api/products/{sku}", _get_product)
    return app


@web.middleware
async def _errors_and_log(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every request logged in one line; every refusal, aiohttp's own included, as a JSON error."""
    try:
        await _read_body(request)
        response = await handler(request)
    except Refused as exc:
        response = error(exc.status, exc.message)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        response = error(exc.status, (exc.reason or "error").lower())
    except Exception:
        log.exception("demo_store_error", method=request.method, path=clean(request.path)[:200])
        response = error(500, "something went wrong in the demo store")
    if response.status == 413:
        response.force_close()  # the rest of the body is not worth reading
    log.info("demo_store_request", method=request.method, path=clean(request.path)[:200], status=response.status)
    return response


async def _read_body(request: web.Request) -> None:
    """Read the whole body up front, within the size cap and in time, so no handler waits on a client."""
    if not request.body_exists:
        return
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise Refused(413, f"the body is over {MAX_BODY} bytes")
    try:
        async with asyncio.timeout(BODY_TIMEOUT_S):
            await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise Refused(413, f"the body is over {MAX_BODY} bytes") from None
    except TimeoutError:
        raise Refused(408, f"the body did not arrive within {BODY_TIMEOUT_S:g} s") from None


def _customer(request: web.Request) -> str | None:
    """The X-Customer header: the email of the customer the request is made for, when it is."""
    values = request.headers.getall("X-Customer", [])
    if len(values) > 1:
        raise Refused(400, "send one X-Customer header")
    return values[0] if values else None


async def _json_object(request: web.Request) -> dict[str, Any]:
    raw = await request.read()
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):  # RecursionError: nesting too deep for the parser
        raise Refused(400, "the body must be JSON") from None
    if not isinstance(body, dict):
        raise Refused(400, "the body must be a JSON object")
    return body


def _text(body: dict[str, Any], key: str) -> str | None:
    """A string field, None when missing, null or blank."""
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise Refused(400, f"`{key}` must be a string")
    return value if value.strip() else None


def order_json(order: Order) -> dict[str, Any]:
    return {
        "number": order.number, "status": order.status, "placed": order.placed, "carrier": order.carrier,
        "tracking_number": order.tracking_number, "eta": order.eta,
        "items": [{"sku": i.sku, "name": i.name, "qty": i.qty, "price": round(i.price, 2)} for i in order.items],
        "total": round(order.total, 2), "note": order.note,
    }  # fmt: skip


def product_json(product: Product) -> dict[str, Any]:
    return {
        "sku": product.sku, "name": product.name, "category": product.category, "price": round(product.price, 2),
        "in_stock": product.in_stock, "colors": list(product.colors), "description": product.description,
    }  # fmt: skip


async def _health(request: web.Request) -> web.Response:
    return web.json_response({"ok": True})


async def _get_order(request: web.Request) -> web.Response:
    # Someone else's order is "not found" too: the answer never says that a number exists.
    order = request.app[STORE].order(request.match_info["number"], _customer(request))
    if order is None:
        raise Refused(404, "order not found")
    return web.json_response(order_json(order))


async def _cancel_order(request: web.Request) -> web.Response:
    try:
        cancellation = request.app[STORE].cancel(request.match_info["number"], _customer(request))
    except NotCancellable as exc:
        raise Refused(409, str(exc)) from None
    if cancellation is None:
        raise Refused(404, "order not found")
    return web.json_response(
        {
            "number": cancellation.order.number,
            "status": cancellation.order.status,
            "refund": {"amount": round(cancellation.refund, 2), "to": REFUND_TO},
        }
    )


async def _verify_customer(request: web.Request) -> web.Response:
    body = await _json_object(request)
    order_id = _text(body, "order_id")
    if order_id is None:
        raise Refused(400, "`order_id` is required")
    email, postcode = _text(body, "email"), _text(body, "postcode")
    if email is None and postcode is None:
        raise Refused(400, "give the order's `email` or `postcode`")
    customer = request.app[STORE].verify(order_id, email, postcode)
    if customer is None:
        return web.json_response({"verified": False})
    return web.json_response({"verified": True, "customer": customer})


async def _search_products(request: web.Request) -> web.Response:
    query = request.query.get("q", "")
    if not query.strip():
        raise Refused(400, "`q` is required: the words to look for")
    limit_text = request.query.get("limit", "3")
    # Only ASCII digits: int() would also take " 3", "+3", "1_0" and other scripts' digits.
    if not (limit_text.isascii() and limit_text.isdigit() and len(limit_text) <= 3 and 1 <= int(limit_text) <= MAX_LIMIT):
        raise Refused(400, f"`limit` must be a whole number from 1 to {MAX_LIMIT}")
    products = request.app[STORE].search(query, int(limit_text))
    return web.json_response([product_json(p) for p in products])


async def _get_product(request: web.Request) -> web.Response:
    product = request.app[STORE].product(request.match_info["sku"])
    if product is None:
        raise Refused(404, "product not found")
    return web.json_response(product_json(product))

"""The demo business's orders and catalog, read from their YAML files into dataclasses."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

DEMO_DIR = Path(__file__).resolve().parents[1] / "demo"
DEMO_ORDERS = DEMO_DIR / "orders.yaml"
DEMO_CATALOG = DEMO_DIR / "catalog.yaml"

# Every status an order can be in; each has its own answer to a cancellation.
STATUSES = frozenset({"processing", "shipped", "out_for_delivery", "delayed", "delivered", "cancelled", "returned"})


class DataError(ValueError):
    """An orders or catalog file that cannot be read, or an entry missing what the API needs."""


@dataclass(frozen=True, slots=True)
class OrderItem:
    sku: str
    name: str
    qty: int
    price: float


@dataclass(frozen=True, slots=True)
class Order:
    number: str
    email: str
    postcode: str
    status: str
    placed: str
    items: tuple[OrderItem, ...]
    total: float
    carrier: str | None = None
    tracking_number: str | None = None
    eta: str | None = None
    note: str | None = None


@dataclass(frozen=True, slots=True)
class Product:
    sku: str
    name: str
    category: str
    price: float
    in_stock: bool
    description: str
    colors: tuple[str, ...]
    keywords: tuple[str, ...]


def load_orders(path: Path = DEMO_ORDERS) -> list[Order]:
    return [_order(entry, f"{path}: order {i + 1}") for i, entry in enumerate(_entries(path, "orders"))]


def load_catalog(path: Path = DEMO_CATALOG) -> list[Product]:
    return [_product(entry, f"{path}: product {i + 1}") for i, entry in enumerate(_entries(path, "products"))]


def _entries(path: Path, key: str) -> list[dict[str, Any]]:
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc.strerror or exc}") from exc
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise DataError(f"{path} is not valid YAML: {exc}") from exc
    entries = document.get(key) if isinstance(document, dict) else None
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise DataError(f"{path} needs a list of {key} under `{key}:`")
    return entries


def _order(entry: dict[str, Any], where: str) -> Order:
    status = _required(entry, "status", where)
    if status not in STATUSES:
        raise DataError(f"{where}: status {status!r} is not one of {', '.join(sorted(STATUSES))}")
    if not isinstance(entry.get("postcode", ""), str):
        # Unquoted, YAML reads a ZIP code as a number, and one with a leading zero as an octal one.
        raise DataError(f'{where}: `postcode` must be quoted ("02139"), or it is read as a number')
    items = entry.get("items") or []
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise DataError(f"{where}: `items` must be a list of {{sku, name, qty, price}}")
    try:
        return Order(
            number=_required(entry, "number", where).upper(),
            email=_required(entry, "email", where),
            postcode=_required(entry, "postcode", where),
            status=status,
            placed=_required(entry, "placed", where),
            items=tuple(
                OrderItem(
                    sku=_required(i, "sku", where),
                    name=_required(i, "name", where),
                    qty=int(i.get("qty", 1)),
                    price=float(i["price"]),
                )
                for i in items
            ),
            total=float(entry["total"]),
            carrier=_optional(entry, "carrier"),
            tracking_number=_optional(entry, "tracking"),
            eta=_optional(entry, "eta"),
            note=_optional(entry, "note"),
        )
    except DataError:
        raise
    except (KeyError, TypeError, ValueError) as exc:
        raise DataError(f"{where}: a number is missing or not a number ({exc})") from exc


def _product(entry: dict[str, Any], where: str) -> Product:
    try:
        return Product(
            sku=_required(entry, "sku", where).upper(),
            name=_required(entry, "name", where),
            category=str(entry.get("category") or ""),
            price=float(entry["price"]),
            in_stock=bool(entry.get("in_stock", True)),
            description=str(entry.get("description") or "").strip(),
            colors=tuple(str(c) for c in entry.get("colors") or ()),
            keywords=tuple(str(k) for k in entry.get("keywords") or ()),
        )
    except DataError:
        raise
    except (KeyError, TypeError, ValueError) as exc:
        raise DataError(f"{where}: the price is missing or not a number ({exc})") from exc


def _required(entry: dict[str, Any], key: str, where: str) -> str:
    value = entry.get(key)
    if value is None or str(value).strip() == "":
        raise DataError(f"{where}: `{key}` is required")
    return str(value).strip()


def _optional(entry: dict[str, Any], key: str) -> str | None:
    value = entry.get(key)
    return None if value is None else str(value)

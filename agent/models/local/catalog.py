"""The local model's product catalog, and how it spots an order number in a message."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from agent.terms import tokens

# "NW-10482", "nw10482", "NW 10482", "#10482", and as a caller's speech comes through: "N W 1 0 4 8 2"
ORDER_NUMBER = re.compile(r"(?:\bn\.?\s?w\.?[-\s]*|#\s?)((?:\d[\s-]?){4}\d)\b", re.IGNORECASE)


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


def find_order_number(text: str) -> str | None:
    match = ORDER_NUMBER.search(text)
    return f"NW-{re.sub(r'[^0-9]', '', match.group(1))}" if match else None


class Catalog:
    def __init__(self, products: list[Product]) -> None:
        self.products = products
        self._product_terms = [
            (product, set(tokens(" ".join((product.name, product.category, *product.keywords)))))
            for product in products
        ]

    @classmethod
    def from_file(cls, catalog_path: Path) -> "Catalog":
        catalog = yaml.safe_load(catalog_path.read_text()) or {}
        products = [
            Product(
                sku=p["sku"],
                name=p["name"],
                category=p.get("category", ""),
                price=float(p["price"]),
                in_stock=bool(p.get("in_stock", True)),
                description=p.get("description", "").strip(),
                colors=tuple(p.get("colors") or ()),
                keywords=tuple(p.get("keywords") or ()),
            )
            for p in catalog.get("products", [])
        ]
        return cls(products)

    def match_products(self, text: str, limit: int = 3, min_shared: int = 1) -> list[Product]:
        """Products whose name, category or keywords share the most words (at least `min_shared`) with `text`."""
        query = set(tokens(text))
        scored = [(len(query & terms), product) for product, terms in self._product_terms]
        best = max((score for score, _ in scored), default=0)
        if best < max(1, min_shared):
            return []
        return [product for score, product in scored if score == best][:limit]

"""The demo business's order system as a small HTTP API: orders, cancellations, identity checks
and the catalog, which the demo's `http` tools call as they would an operator's own system."""

from agent.demo_store.app import create_demo_store
from agent.demo_store.data import DataError, Order, OrderItem, Product, load_catalog, load_orders
from agent.demo_store.store import DemoStore, NotCancellable

__all__ = [
    "DataError",
    "DemoStore",
    "NotCancellable",
    "Order",
    "OrderItem",
    "Product",
    "create_demo_store",
    "load_catalog",
    "load_orders",
]

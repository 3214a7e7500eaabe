"""Reading the orders and catalog files."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from agent.demo_store import DataError, create_demo_store, load_catalog, load_orders


def test_every_demo_order_has_its_customer_and_a_zip_code() -> None:
    orders = load_orders()
    assert len(orders) == 15 and len({o.number for o in orders}) == 15
    assert all(re.fullmatch(r"\d{5}", o.postcode) for o in orders)
    assert len({o.postcode for o in orders}) == len(orders)
    assert all(o.email.endswith("@example.com") for o in orders)
    ana = next(o for o in orders if o.number == "NW-10482")
    assert (ana.postcode, ana.tracking_number, ana.eta, ana.total) == ("97214", "1Z999AA10123456784", "2026-11-25", 149.0)
    # A leading zero survives: the ZIP code is text, not a number.
    assert next(o for o in orders if o.number == "NW-10511").postcode == "02139"


def test_the_catalog_reads_every_product() -> None:
    products = load_catalog()
    boot = next(p for p in products if p.sku == "TRK-BOOT-42")
    assert (boot.name, boot.price, boot.in_stock, boot.colors) == (
        "Ridgeline Waterproof Hiking Boot",
        149.0,
        True,
        ("brown", "black"),
    )
    assert len({p.sku for p in products}) == len(products) > 10


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("orders: [{number: NW-1, email: a@example.com, status: processing, placed: x, total: 1}]", "`postcode` is required"),
        ("orders: [{number: NW-1, email: a@example.com, postcode: '1', status: lost, placed: x, total: 1}]", "status 'lost'"),
        (
            "orders: [{number: NW-1, email: a@example.com, postcode: '1', status: shipped, placed: x, total: lots}]",
            "not a number",
        ),
        (
            "orders: [{number: NW-1, email: a@example.com, postcode: 01234, status: shipped, placed: x, total: 1}]",
            "`postcode` must be quoted",
        ),
        ("orders: {NW-1: shipped}", "needs a list of orders"),
        ("orders: [unclosed", "not valid YAML"),
    ],
)
def test_a_broken_orders_file_is_refused_naming_what_is_wrong(tmp_path: Path, text: str, complaint: str) -> None:
    path = tmp_path / "orders.yaml"
    path.write_text(text)
    with pytest.raises(DataError, match=re.escape(complaint)) as caught:
        load_orders(path)
    assert str(path) in str(caught.value)


def test_a_missing_file_is_a_data_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="cannot read"):
        create_demo_store(tmp_path / "nowhere.yaml")

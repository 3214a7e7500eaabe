"""The demo store's routes over real HTTP, on the demo's orders and catalog."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import structlog

from agent.demo_store import create_demo_store
from tests.support.server import running_app

NOT_FOUND = {"error": "order not found"}


def data(response: httpx.Response, status: int) -> Any:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    return response.json()


async def test_health(http: httpx.AsyncClient) -> None:
    assert data(await http.get("/healthz"), 200) == {"ok": True}


async def test_an_order_reads_in_full_whatever_the_case_of_its_number(http: httpx.AsyncClient) -> None:
    expected = {
        "number": "NW-10497", "status": "processing", "placed": "2026-11-19", "carrier": None, "tracking_number": None,
        "eta": "2026-11-25",
        "items": [
            {"sku": "TNT-2P-01", "name": "Basecamp 2 Backpacking Tent", "qty": 1, "price": 279.0},
            {"sku": "SLP-PAD-01", "name": "Drift Insulated Sleeping Pad", "qty": 1, "price": 119.0},
        ],
        "total": 398.0, "note": "Being packed now; it should ship within 1 business day",
    }  # fmt: skip
    assert data(await http.get("/api/orders/NW-10497"), 200) == expected
    assert data(await http.get("/api/orders/nw-10497"), 200) == expected
    shipped = data(await http.get("/api/orders/Nw-10482"), 200)
    assert (shipped["carrier"], shipped["tracking_number"]) == ("UPS", "1Z999AA10123456784")
    assert "email" not in shipped and "postcode" not in shipped  # what proves identity is never handed out


@pytest.mark.parametrize(
    "number",
    ["NW-99999", "10482", "NW10482x", "NW-10482 OR 1=1", "%00", "%ED%A0%80", "..%2F..%2Fhealthz", "N" * 3000, "ñw-10482"],
)
async def test_an_unknown_or_odd_order_number_is_not_found(http: httpx.AsyncClient, number: str) -> None:
    response = await http.get(f"/api/orders/{number}")
    assert response.status_code == 404 and response.json()["error"]


async def test_with_x_customer_only_that_customers_order_is_found(http: httpx.AsyncClient) -> None:
    mine = await http.get("/api/orders/NW-10482", headers={"X-Customer": "Ana@Example.COM"})
    assert data(mine, 200)["number"] == "NW-10482"
    # Someone else's order answers exactly as a number that does not exist.
    for customer in ("marcus.lee@example.com", "ana@example.co", ""):
        assert data(await http.get("/api/orders/NW-10482", headers={"X-Customer": customer}), 404) == NOT_FOUND
    assert data(await http.get("/api/orders/NW-99999", headers={"X-Customer": "ana@example.com"}), 404) == NOT_FOUND
    two = await http.get("/api/orders/NW-10482", headers=[("X-Customer", "bob@example.com"), ("X-Customer", "ana@example.com")])
    assert data(two, 400)["error"]


async def test_cancelling_a_processing_order_refunds_it_and_it_stays_cancelled(http: httpx.AsyncClient) -> None:
    cancelled = await http.post("/api/orders/nw-10589/cancel", headers={"X-Customer": "KATE.W@example.com"})
    assert data(cancelled, 200) == {
        "number": "NW-10589", "status": "cancelled", "refund": {"amount": 188.0, "to": "the original payment method"}
    }  # fmt: skip
    order = data(await http.get("/api/orders/NW-10589"), 200)
    assert (order["status"], order["eta"]) == ("cancelled", None)
    assert "refund of $188.00" in order["note"]
    again = data(await http.post("/api/orders/NW-10589/cancel"), 409)
    assert again == {"error": "order NW-10589 is already cancelled"}


async def test_a_cancellation_changes_only_its_own_app(http: httpx.AsyncClient) -> None:
    assert data(await http.post("/api/orders/NW-10497/cancel"), 200)["status"] == "cancelled"
    async with running_app(create_demo_store()) as other_url, httpx.AsyncClient(base_url=other_url) as other:
        assert data(await other.get("/api/orders/NW-10497"), 200)["status"] == "processing"
    assert data(await http.get("/api/orders/NW-10497"), 200)["status"] == "cancelled"


async def test_someone_elses_order_cannot_be_cancelled_nor_learnt_of(http: httpx.AsyncClient) -> None:
    refused = await http.post("/api/orders/NW-10641/cancel", headers={"X-Customer": "ana@example.com"})
    assert data(refused, 404) == NOT_FOUND
    assert data(await http.get("/api/orders/NW-10641"), 200)["status"] == "processing"
    # Not even a shipped one: a 409 would say that the number is real.
    assert data(await http.post("/api/orders/NW-10482/cancel", headers={"X-Customer": "kate.w@example.com"}), 404) == NOT_FOUND
    assert data(await http.post("/api/orders/NW-99999/cancel"), 404) == NOT_FOUND


@pytest.mark.parametrize(
    ("number", "error"),
    [
        ("NW-10482", "order NW-10482 has shipped, so it can no longer be cancelled; it can be returned once it arrives"),
        ("NW-10511", "order NW-10511 is out for delivery, so it can no longer be cancelled; it can be returned once it arrives"),
        (
            "NW-10536",
            "order NW-10536 has shipped and is delayed in transit, so it can no longer be cancelled; it can be returned once it arrives",
        ),
        ("NW-10523", "order NW-10523 has been delivered, so it can no longer be cancelled; it can be returned instead"),
        ("NW-10548", "order NW-10548 is already cancelled"),
        ("NW-10552", "order NW-10552 has been returned, so there is nothing left to cancel"),
    ],
)
async def test_an_order_past_processing_cannot_be_cancelled(http: httpx.AsyncClient, number: str, error: str) -> None:
    before = data(await http.get(f"/api/orders/{number}"), 200)
    assert data(await http.post(f"/api/orders/{number}/cancel"), 409) == {"error": error}
    assert data(await http.get(f"/api/orders/{number}"), 200) == before


@pytest.mark.parametrize(
    "proof",
    [
        {"email": "ana@example.com"},
        {"email": "  ANA@example.com\n"},
        {"postcode": "97214"},
        {"postcode": " 972 14 "},
        {"email": "someone@else.com", "postcode": "97214"},
        {"email": "ana@example.com", "postcode": None},
    ],
)
async def test_verify_by_email_or_postcode(http: httpx.AsyncClient, proof: dict[str, Any]) -> None:
    answer = await http.post("/api/customers/verify", json={"order_id": "nw-10482", **proof})
    assert data(answer, 200) == {"verified": True, "customer": "ana@example.com"}


@pytest.mark.parametrize(
    "body",
    [
        {"order_id": "NW-10482", "email": "marcus.lee@example.com"},
        {"order_id": "NW-10482", "postcode": "98103"},
        {"order_id": "NW-10482", "postcode": "9721"},
        {"order_id": "NW-10482", "email": "ana@example.com.evil"},
        {"order_id": "NW-99999", "email": "ana@example.com"},  # an unknown order answers as a wrong proof
        {"order_id": "NW-10497", "email": "ana@example.com"},
    ],
)
async def test_a_wrong_proof_or_an_unknown_order_is_not_verified(http: httpx.AsyncClient, body: dict[str, Any]) -> None:
    assert data(await http.post("/api/customers/verify", json=body), 200) == {"verified": False}


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"order_id": "NW-10482"}, "give the order's `email` or `postcode`"),
        ({"order_id": "NW-10482", "email": "  ", "postcode": ""}, "give the order's `email` or `postcode`"),
        ({"order_id": "NW-10482", "email": None}, "give the order's `email` or `postcode`"),
        ({"email": "ana@example.com"}, "`order_id` is required"),
        ({"order_id": " ", "email": "ana@example.com"}, "`order_id` is required"),
        ({"order_id": 10482, "email": "ana@example.com"}, "`order_id` must be a string"),
        ({"order_id": "NW-10482", "email": ["ana@example.com"]}, "`email` must be a string"),
        ({"order_id": "NW-10482", "postcode": 97214}, "`postcode` must be a string"),
        (["NW-10482", "ana@example.com"], "the body must be a JSON object"),
        ("NW-10482", "the body must be a JSON object"),
    ],
)
async def test_verify_refuses_a_request_without_a_proof_or_of_the_wrong_shape(
    http: httpx.AsyncClient, body: Any, error: str
) -> None:
    assert data(await http.post("/api/customers/verify", json=body), 400) == {"error": error}


@pytest.mark.parametrize(
    "raw",
    [b"", b"{", b"{'order_id': 'NW-10482'}", b"\xff\xfe\x00", b"[" * 15000, b'{"order_id": ' + b"1" * 15000 + b"}", b"NaN"],
)
async def test_verify_refuses_what_is_not_json(http: httpx.AsyncClient, raw: bytes) -> None:
    response = await http.post("/api/customers/verify", content=raw, headers={"Content-Type": "application/json"})
    assert response.status_code == 400 and response.json()["error"]


async def test_a_body_over_16_kb_is_refused_with_or_without_a_length(http: httpx.AsyncClient) -> None:
    big = b'{"order_id": "NW-10482", "email": "' + b"a" * 20_000 + b'"}'
    assert data(await http.post("/api/customers/verify", content=big), 413) == {"error": "the body is over 16384 bytes"}

    async def chunks() -> Any:  # no Content-Length: the cap is found while reading
        for _ in range(40):
            yield b"a" * 1024

    chunked = await http.post("/api/orders/NW-10497/cancel", content=chunks())
    assert data(chunked, 413) == {"error": "the body is over 16384 bytes"}
    assert data(await http.get("/api/orders/NW-10497"), 200)["status"] == "processing"


async def test_products_are_searched_by_their_words_best_first(http: httpx.AsyncClient) -> None:
    boots = data(await http.get("/api/products", params={"q": "waterproof hiking boots"}), 200)
    assert boots[0] == {
        "sku": "TRK-BOOT-42", "name": "Ridgeline Waterproof Hiking Boot", "category": "footwear", "price": 149.0,
        "in_stock": True, "colors": ["brown", "black"], "description": boots[0]["description"],
    }  # fmt: skip
    assert boots[0]["description"].startswith("Mid-height nubuck leather boot")
    assert len(boots) == 3  # the default limit
    tents = data(await http.get("/api/products", params={"q": "family tent for car camping", "limit": "10"}), 200)
    assert tents[0]["sku"] == "TNT-4P-01"
    assert {"TNT-1P-01", "TNT-2P-01"} <= {t["sku"] for t in tents}
    assert [p["sku"] for p in data(await http.get("/api/products", params={"q": "tent", "limit": "1"}), 200)] == ["TNT-2P-01"]
    assert data(await http.get("/api/products", params={"q": "quantum spaceship"}), 200) == []
    assert data(await http.get("/api/products", params={"q": "the and of"}), 200) == []  # no word that carries meaning


@pytest.mark.parametrize(
    "params",
    [{}, {"q": "  "}, {"q": "tent", "limit": "0"}, {"q": "tent", "limit": "51"}, {"q": "tent", "limit": "three"},
     {"q": "tent", "limit": "-1"}, {"q": "tent", "limit": "٣"}, {"q": "tent", "limit": "1e3"}, {"q": "tent", "limit": ""},
     {"q": "tent", "limit": "9" * 40}],
)  # fmt: skip
async def test_a_product_search_without_words_or_with_a_bad_limit_is_refused(
    http: httpx.AsyncClient, params: dict[str, str]
) -> None:
    assert data(await http.get("/api/products", params=params), 400)["error"]


async def test_a_product_by_its_sku(http: httpx.AsyncClient) -> None:
    pot = data(await http.get("/api/products/ckw-pot-01"), 200)
    assert (pot["sku"], pot["name"], pot["price"]) == ("CKW-POT-01", "Titan 900 Titanium Pot", 44.0)
    assert data(await http.get("/api/products/NOPE-01"), 404) == {"error": "product not found"}


async def test_other_paths_and_methods_are_json_errors(http: httpx.AsyncClient) -> None:
    assert data(await http.get("/api/nothing"), 404) == {"error": "not found"}
    assert data(await http.get("/api/orders/NW-10482/"), 404) == {"error": "not found"}
    assert data(await http.delete("/api/orders/NW-10482"), 405) == {"error": "method not allowed"}
    assert data(await http.get("/api/orders/NW-10497/cancel"), 405) == {"error": "method not allowed"}


async def test_every_request_is_logged_with_its_status(http: httpx.AsyncClient) -> None:
    with structlog.testing.capture_logs() as events:
        await http.get("/api/orders/NW-10482")
        await http.post("/api/orders/NW-10482/cancel")
        await http.get("/api/orders/%00")
        await http.post("/api/customers/verify", content=b"{")
    lines = [(e["method"], e["path"], e["status"]) for e in events if e["event"] == "demo_store_request"]
    assert lines == [
        ("GET", "/api/orders/NW-10482", 200),
        ("POST", "/api/orders/NW-10482/cancel", 409),
        ("GET", "/api/orders/", 404),  # the NUL is not written to the log
        ("POST", "/api/customers/verify", 400),
    ]
    assert all(e["log_level"] == "info" for e in events)

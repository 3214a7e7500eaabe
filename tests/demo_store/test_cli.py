"""`switchboard demo-store` as an operator runs it: a real process on a real port."""

from __future__ import annotations

import json
import os
import selectors
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

SWITCHBOARD = [sys.executable, "-m", "agent.cli"]
ORDERS = """\
orders:
  - number: "NW-20001"
    email: "river@example.com"
    postcode: "04101"
    status: processing
    placed: "2026-12-01"
    items:
      - {sku: "ACC-WAX-01", name: "Trailguard Boot Wax", qty: 2, price: 12.50}
    total: 25.00
"""


def _environment() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("SWITCHBOARD_")}


def _announced_url(process: subprocess.Popen[str], timeout_s: float = 30) -> str:
    """The URL from the line the command prints once it listens."""
    assert process.stderr is not None
    deadline = time.monotonic() + timeout_s
    with selectors.DefaultSelector() as selector:
        selector.register(process.stderr, selectors.EVENT_READ)
        while time.monotonic() < deadline:
            if not selector.select(timeout=deadline - time.monotonic()):
                break
            line = process.stderr.readline()
            if not line:
                raise AssertionError(f"demo-store exited with {process.wait()} before listening")
            if line.startswith("Demo store on "):
                return line.split()[3].rstrip("/")
    raise AssertionError("demo-store did not say where it listens")


@contextmanager
def demo_store(*args: str) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    process = subprocess.Popen(
        [*SWITCHBOARD, "demo-store", "--port", "0", *args], env=_environment(), stderr=subprocess.PIPE, text=True
    )
    try:
        yield _announced_url(process), process
    finally:
        if process.returncode is None:  # a test that stopped it has read its output already
            process.terminate()
            process.communicate(timeout=15)


def test_demo_store_serves_the_demo_orders_until_stopped() -> None:
    with demo_store() as (url, process):
        assert url.startswith("http://127.0.0.1:")
        assert httpx.get(f"{url}/healthz").json() == {"ok": True}
        assert httpx.get(f"{url}/api/orders/NW-10482").json()["tracking_number"] == "1Z999AA10123456784"
        assert httpx.post(f"{url}/api/orders/NW-10497/cancel").json()["status"] == "cancelled"
        assert httpx.get(f"{url}/api/orders/NW-10497").json()["status"] == "cancelled"
        verified = httpx.post(f"{url}/api/customers/verify", json={"order_id": "NW-10511", "postcode": "02139"})
        assert verified.json() == {"verified": True, "customer": "priya.n@example.com"}
        process.terminate()
        _, stderr = process.communicate(timeout=15)
    assert process.returncode == 0, stderr
    assert "Traceback" not in stderr
    logged = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    requests = [(e["method"], e["path"], e["status"]) for e in logged if e["event"] == "demo_store_request"]
    assert requests == [
        ("GET", "/healthz", 200),
        ("GET", "/api/orders/NW-10482", 200),
        ("POST", "/api/orders/NW-10497/cancel", 200),
        ("GET", "/api/orders/NW-10497", 200),
        ("POST", "/api/customers/verify", 200),
    ]


def test_demo_store_serves_the_files_it_is_given(tmp_path: Path) -> None:
    orders = tmp_path / "orders.yaml"
    orders.write_text(ORDERS)
    catalog = tmp_path / "catalog.yaml"
    catalog.write_text('products:\n  - {sku: "ACC-WAX-01", name: "Trailguard Boot Wax", price: 12.50, keywords: [wax]}\n')
    with demo_store("--orders", str(orders), "--catalog", str(catalog)) as (url, _process):
        assert httpx.get(f"{url}/api/orders/NW-20001").json()["total"] == 25.0
        assert httpx.get(f"{url}/api/orders/NW-10482").status_code == 404
        assert [p["sku"] for p in httpx.get(f"{url}/api/products", params={"q": "boot wax"}).json()] == ["ACC-WAX-01"]
        assert httpx.get(f"{url}/api/products/TRK-BOOT-42").status_code == 404


def test_a_broken_orders_file_stops_it_with_the_reason(tmp_path: Path) -> None:
    orders = tmp_path / "orders.yaml"
    orders.write_text(ORDERS.replace('    postcode: "04101"\n', ""))
    result = subprocess.run(
        [*SWITCHBOARD, "demo-store", "--port", "0", "--orders", str(orders)],
        env=_environment(), capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 1
    assert "order 1: `postcode` is required" in result.stderr and "Traceback" not in result.stderr


def test_a_port_in_use_stops_it_with_the_reason() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [*SWITCHBOARD, "demo-store", "--port", str(port)],
            env=_environment(), capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
    assert result.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr and "Traceback" not in result.stderr

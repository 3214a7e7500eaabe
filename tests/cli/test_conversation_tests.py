"""`switchboard test conversations`, run as an operator runs it: the real manager, the local model,
the demo store and the demo knowledge base, on the shipped configuration."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from agent.settings import PACKAGE_DIR

DEMO_SUITE = PACKAGE_DIR / "demo" / "conversations.yaml"

SMALL = """
conversations:
  - name: cancelling an order
    turns:
      - customer: "please cancel my order NW-10497"
        expect:
          intent: cancel_order
          tools: [{name: cancel_order, outcome: needs_verification, arguments: {order_id: '/^NW-\\d{5}$/'}}]
      - customer: "marcus.lee@example.com"
        expect:
          tools: [verify_customer, {name: cancel_order, confirmation: asked}]
          contains: ["REFUND $398.00"]
      - customer: "yes"
        expect:
          tools: [{name: cancel_order, outcome: ok, confirmation: confirmed}]
          contains: ["is cancelled"]
          not_contains: ["already cancelled"]
  - name: a greeting routed to sales
    turns:
      - customer: "hi there"
        expect: {route: sales, contains: ["bananas"]}
  - name: the weather, known to be wrong
    xfail: "the bot should know the weather"
    turns:
      - customer: "what's the weather in Seattle?"
        expect: {contains: ["sunny"]}
"""


def switchboard(*args: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SWITCHBOARD_")}
    env["SWITCHBOARD_DATA_DIR"] = str(data_dir)  # the router's cache: trained once for the module
    return subprocess.run([sys.executable, "-m", "agent.cli", "test", "conversations", *args], check=False, capture_output=True, text=True, timeout=300, env=env)


def last_json(output: str) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(output.strip().splitlines()[-1])
    return result


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("data")


@pytest.fixture
def small(tmp_path: Path) -> Path:
    path = tmp_path / "small.yaml"
    path.write_text(SMALL)
    return path


def test_a_failing_expectation_is_named_with_the_actual_value(small: Path, data_dir: Path) -> None:
    result = switchboard(str(small), "--repeat", "2", "--json", data_dir=data_dir)
    assert result.returncode == 1, result.stderr
    out = result.stdout
    assert "FAIL a greeting routed to sales (run 1 of 2)" in out
    assert "turn 1 ('hi there'): route: expected 'sales', got 'lookup'" in out
    assert "turn 1 ('hi there'): contains: 'bananas' is not in the answer" in out
    assert "the bot said: \"Hi, I'm Sam from Northwind Outfitters." in out
    assert "xfail the weather, known to be wrong: the bot should know the weather" in out
    assert "3 conversations, 1 passed, 1 failed, 1 xfail · pass@1 50.0% · pass^2 50.0%" in out

    report = last_json(out)
    assert report["repeat"] == 2
    assert report["totals"] == {
        "conversations": 3, "passed": 1, "failed": 1, "xfail": 1, "xpass": 0, "pass_at_1": 0.5, "pass_hat_2": 0.5,
    }  # fmt: skip
    cancelling, greeting, weather = report["conversations"]
    # The second run cancels the order again: each run has a demo store of its own.
    assert cancelling["status"] == "pass" and cancelling["passes"] == 2 and len(cancelling["runs"]) == 2
    confirmed = cancelling["runs"][1]["turns"][2]
    assert confirmed["tools"][0]["name"] == "cancel_order" and confirmed["tools"][0]["confirmation"] == "confirmed"
    assert "is cancelled" in confirmed["reply"]
    assert cancelling["runs"][0]["turns"][1]["tools"][0]["arguments"]["email"] == "[redacted]"

    assert greeting["status"] == "fail" and greeting["passes"] == 0
    assert greeting["runs"][0]["turns"][0]["failures"] == [
        {"expectation": "route", "expected": "sales", "actual": "lookup"},
        {"expectation": "contains", "expected": "bananas", "actual": greeting["runs"][0]["turns"][0]["reply"]},
    ]
    assert weather["status"] == "xfail" and weather["xfail"] == "the bot should know the weather"


def test_only_runs_the_named_conversation(small: Path, data_dir: Path) -> None:
    result = switchboard(str(small), "--only", "cancelling an order", data_dir=data_dir)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "cancelling an order" in result.stdout and "greeting" not in result.stdout
    assert "1 conversation, 1 passed, 0 failed · pass@1 100.0% · pass^1 100.0%" in result.stdout

    unknown = switchboard(str(small), "--only", "no such conversation", data_dir=data_dir)
    assert unknown.returncode == 2
    assert "no conversation named 'no such conversation'" in unknown.stderr


def test_a_configured_database_keeps_the_conversations(small: Path, tmp_path: Path, data_dir: Path) -> None:
    database = tmp_path / "tests.db"
    config = tmp_path / "config.yaml"
    shipped = (PACKAGE_DIR / "default.yaml").read_text()
    config.write_text(shipped.replace("  url: null               # null: sqlite+aiosqlite in data_dir", f"  url: sqlite+aiosqlite:///{database}", 1))
    result = switchboard(str(small), "--config", str(config), "--only", "cancelling an order", "--repeat", "2", data_dir=data_dir)
    assert result.returncode == 0, result.stdout + result.stderr
    with closing(sqlite3.connect(database)) as db:
        conversations = db.execute("select count(*) from conversations").fetchone()[0]
        turns = db.execute("select count(*) from turns").fetchone()[0]
    assert (conversations, turns) == (2, 6)  # each run a conversation of its own, in the configured database


def test_a_malformed_file_is_a_clear_error(tmp_path: Path, data_dir: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "conversations:\n"
        "  - name: order status\n"
        "    turns:\n"
        "      - customer: where is NW-10482\n"
        "        expect: {tools: [{name: lookup_order, outcome: shipped}], contians: [x]}\n"
        "  - turns: []\n"
    )
    result = switchboard(str(bad), data_dir=data_dir)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert f"{bad} is not a conversation test file:" in result.stderr
    assert "conversation 'order status' (#1), turn 1, expect.tools[0].outcome: Input should be 'ok'" in result.stderr
    assert "conversation 'order status' (#1), turn 1, expect.contians: Extra inputs are not permitted" in result.stderr
    assert "conversation #2, name: Field required" in result.stderr

    bad.write_text("conversations:\n  - name: x\n    turns:\n      - customer: hi\n        expect: {route: billing}\n")
    result = switchboard(str(bad), data_dir=data_dir)
    assert result.returncode == 2
    assert "conversation 'x', turn 1: expect.route: no route 'billing' (routes: support, sales, lookup)" in result.stderr

    bad.write_text("conversations: [\n")
    result = switchboard(str(bad), data_dir=data_dir)
    assert result.returncode == 2 and "is not valid YAML" in result.stderr


def test_the_demo_suite_passes(data_dir: Path) -> None:
    """How CI runs the shipped conversations: every one passes, or is a known failure marked xfail."""
    started = time.perf_counter()
    result = switchboard(str(DEMO_SUITE), "--json", data_dir=data_dir)
    seconds = time.perf_counter() - started
    report = last_json(result.stdout)
    failed = [c["name"] for c in report["conversations"] if c["status"] in ("fail", "xpass")]
    assert result.returncode == 0 and not failed, result.stdout
    assert report["totals"]["passed"] >= 30
    assert report["totals"]["pass_at_1"] == 1.0
    print(f"demo suite: {report['totals']['conversations']} conversations in {seconds:.1f}s ({report['seconds']:.1f}s running them)")

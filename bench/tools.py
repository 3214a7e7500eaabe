"""What one `http` tool call adds to a turn: order-status turns with `lookup_order` against the
demo store's API on loopback, next to the same turns on a server whose route has no tools.

    python bench/tools.py [--turns 300] [--json] [--smoke]

Two `switchboard serve` processes on the shipped config (the local model, embedded SQLite, the
demo store served beside each): one as shipped, one with the routes' `tools` emptied. Each
conversation first proves who the customer is (unmeasured); then one client at a time asks for
the order's status, on the two servers in turn. With the tool, every answer must carry the order's status from the demo
store, and the stored calls must all be `ok`; without it, every answer must be the local model's
"can't look up order". The difference of the two p50s is the tool's cost; the tool's own
latency, as the turn recorded it, is printed beside it.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.support.harness import Result, expect, percentile, run, switchboard  # noqa: E402

from agent.settings import DEFAULT_CONFIG  # noqa: E402

QUESTION = "where is my order NW-10482?"
PROOF = "it's ana@example.com"
# The same answer twice in a row would hand the conversation to a person; here it is the point.
SETTINGS = {"SWITCHBOARD_ESCALATION__ON_REPEAT": "false"}
TURNS_PER_CONVERSATION = 20


def without_tools(folder: Path) -> Path:
    """The shipped config with every route's tools removed."""
    config = yaml.safe_load(DEFAULT_CONFIG.read_text())
    for route in config["routes"].values():
        route["tools"] = []
    path = folder / "no-tools.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


async def open_conversation(session: aiohttp.ClientSession, base: str) -> tuple[str, dict[str, str]]:
    async with session.post(f"{base}/api/conversations") as response:
        expect(response.status == 201, f"opening a conversation answered {response.status}")
        body = await response.json()
    return f"{base}/api/conversations/{body['conversation_id']}/messages", {"Authorization": f"Bearer {body['token']}"}


async def ask(session: aiohttp.ClientSession, url: str, headers: dict[str, str], text: str) -> str:
    async with session.post(url, json={"text": text}, headers=headers) as response:
        body = await response.text()
        expect(response.status == 200, f"a turn answered {response.status}: {body}")
        reply = json.loads(body)["reply"]
        expect(not reply["escalated"], f"a turn escalated: {reply}")
        return str(reply["text"])


async def verified_conversations(session: aiohttp.ClientSession, base: str, turns: int) -> list[tuple[str, dict[str, str]]]:
    """Conversations whose customer has proved who they are (not measured)."""
    conversations = [await open_conversation(session, base) for _ in range(max(1, -(-turns // TURNS_PER_CONVERSATION)))]
    for url, headers in conversations:
        await ask(session, url, headers, QUESTION)
        await ask(session, url, headers, PROOF)
    return conversations


async def bench_pair(session: aiohttp.ClientSession, plain: str, tooled: str, turns: int) -> tuple[Result, Result]:
    """Turns on the two servers alternately, one at a time, so the machine's noise hits both alike."""
    sides = {
        "turn, no tool": (await verified_conversations(session, plain, turns), "can't look up order", []),
        "turn with lookup_order": (await verified_conversations(session, tooled, turns), "has shipped", []),
    }
    started = time.perf_counter()
    for i in range(turns):
        for name, (conversations, holds, latencies) in sides.items():
            url, headers = conversations[i // TURNS_PER_CONVERSATION]
            began = time.perf_counter()
            text = await ask(session, url, headers, QUESTION)
            latencies.append((time.perf_counter() - began) * 1000)
            expect(holds in text, f"{name}: expected {holds!r} in {text!r}")
    seconds = time.perf_counter() - started
    results = [Result(name, turns, seconds, percentile(lat, 50), percentile(lat, 99)) for name, (_, _, lat) in sides.items()]
    return results[0], results[1]


def tool_latencies(data_dir: Path) -> list[float]:
    with sqlite3.connect(data_dir / "switchboard.db") as db:
        rows = db.execute("SELECT outcome, latency_ms FROM tool_calls WHERE tool = 'lookup_order' AND outcome != 'needs_verification'").fetchall()
    expect(bool(rows) and all(outcome == "ok" for outcome, _ in rows), f"lookup_order calls that were not ok: {rows[:5]}")
    return [latency for _, latency in rows]


async def main(turns: int, as_json: bool) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        plain_config = without_tools(Path(scratch))
        with switchboard(SETTINGS) as tooled, switchboard({**SETTINGS, "SWITCHBOARD_CONFIG": str(plain_config)}) as plain:
            async with aiohttp.ClientSession() as session:
                await tooled.wait_healthy(session)
                await plain.wait_healthy(session)
                await bench_pair(session, plain.base, tooled.base, min(20, turns))  # warm-up
                base, with_tool = await bench_pair(session, plain.base, tooled.base, turns)
            calls = tool_latencies(tooled.data_dir)
    report: dict[str, Any] = {
        "without_tool": {"p50_ms": base.p50_ms, "p99_ms": base.p99_ms},
        "with_tool": {"p50_ms": with_tool.p50_ms, "p99_ms": with_tool.p99_ms},
        "added_p50_ms": round(with_tool.p50_ms - base.p50_ms, 3),
        "added_p99_ms": round(with_tool.p99_ms - base.p99_ms, 3),
        "ratio_p50": round(with_tool.p50_ms / base.p50_ms, 3),
        "tool_call_ms": {"p50": round(percentile(calls, 50), 3), "p99": round(percentile(calls, 99), 3), "calls": len(calls)},
    }
    for result in (base, with_tool):
        print(f"{result.name:26} p50 {result.p50_ms:6.2f} ms   p99 {result.p99_ms:6.2f} ms   ({result.requests} turns, one client)")
    print(f"added by one http tool call: p50 {report['added_p50_ms']:+.2f} ms, p99 {report['added_p99_ms']:+.2f} ms "
          f"(turn with / without: {report['ratio_p50']:.2f} at p50)")
    print(f"lookup_order itself, as stored: p50 {report['tool_call_ms']['p50']:.2f} ms, p99 {report['tool_call_ms']['p99']:.2f} ms")
    if as_json:
        print(json.dumps(report))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--turns", type=int, default=300)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--smoke", action="store_true", help="20 turns each: does it still run?")
    args = parser.parse_args()
    if args.smoke:
        args.turns = 20
    run(main(args.turns, args.json))

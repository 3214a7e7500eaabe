"""Full conversation turns through the HTTP API next to a bare aiohttp echo, in one run.

    python bench/turns.py [--turns 3000] [--concurrency 16] [--json] [--smoke]

Both servers run as their own processes on loopback; this process is the client for both,
so the machine's noise hits both alike and the ratio is what to read. Every turn must be the
bot's answer (status 200, the local model, not escalated) and the server's database must hold
exactly the turns sent, all answered; anything else fails the run. `--smoke` is a few dozen
turns, to show in seconds that the benchmark still runs.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.support.harness import QUESTIONS, Askers, Result, drive, echo_server, expect, run, switchboard  # noqa: E402


async def bench_echo(session: aiohttp.ClientSession, base: str, count: int, concurrency: int, warmup: int) -> Result:
    async def one(_worker: int, i: int) -> None:
        text = QUESTIONS[i % len(QUESTIONS)]
        async with session.post(f"{base}/echo", json={"text": text}) as response:
            expect(response.status == 200, f"echo answered {response.status}")
            expect((await response.json())["reply"]["text"] == text, "echo answered another text")

    await drive("echo", warmup, concurrency, one)
    return await drive("bare aiohttp echo", count, concurrency, one)


@dataclass
class Visitor:
    """A web chat visitor: their conversation's id and token once it is opened."""

    conversation: dict[str, str] | None = None


async def open_conversation(session: aiohttp.ClientSession, base: str) -> dict[str, str]:
    async with session.post(f"{base}/api/conversations") as response:
        text = await response.text()
        expect(response.status == 201, f"opening a conversation answered {response.status}: {text}")
        return dict(json.loads(text))


async def bench_turns(
    session: aiohttp.ClientSession,
    base: str,
    count: int,
    concurrency: int,
    warmup: int,
    name: str = "full turn (local model, SQLite)",
    open_in_turn: bool = False,
) -> Result:
    """Web chat turns; with `open_in_turn` a visitor's first turn also opens their conversation
    (as the widget does), otherwise conversations are opened before the clock starts."""

    async def run_turns(label: str, turns: int) -> Result:
        if open_in_turn:
            visitors: Iterator[Visitor] = (Visitor() for _ in itertools.count())
        else:
            opened = [await open_conversation(session, base) for _ in range(Askers.needed(turns, concurrency))]
            visitors = iter([Visitor(c) for c in opened])
        askers = Askers(visitors, concurrency)

        async def one(worker: int, _i: int) -> None:
            visitor, question = askers.next(worker)
            if visitor.conversation is None:
                visitor.conversation = await open_conversation(session, base)
            url = f"{base}/api/conversations/{visitor.conversation['conversation_id']}/messages"
            headers = {"Authorization": f"Bearer {visitor.conversation['token']}"}
            async with session.post(url, json={"text": question}, headers=headers) as response:
                text = await response.text()
                expect(response.status == 200, f"a turn answered {response.status}: {text}")
                expect_bot_answer(json.loads(text))

        return await drive(label, turns, concurrency, one)

    await run_turns("turn", warmup)
    return await run_turns(name, count)


def expect_bot_answer(body: dict[str, Any]) -> None:
    reply = body["reply"]
    expect(not reply["escalated"] and body["state"] == "bot", f"a turn escalated: {body}")
    expect(reply["model"] == "local" and bool(reply["text"]), f"a turn without the local model's answer: {body}")


def sizes(turns: int) -> tuple[int, int]:
    """Turns with one client (a share of those with many) and the warm-up before each."""
    return max(min(200, turns), turns // 5), min(200, turns)


async def main(turns: int, concurrency: int, as_json: bool) -> None:
    single, warmup = sizes(turns)
    with echo_server() as echo, switchboard() as app:
        sent = 0
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:
            await echo.wait_healthy(session)
            await app.wait_healthy(session)
            # One client at a time shows the latency of a turn; many show throughput.
            rows = []
            for level in sorted({1, concurrency}):
                count = turns if level == concurrency else single
                plain = await bench_echo(session, echo.base, count, level, warmup)
                full = await bench_turns(session, app.base, count, level, warmup)
                sent += warmup + count
                rows.append((level, plain, full))
        app.expect_answered(sent)
    report = []
    for level, plain, full in rows:
        ratio = full.per_second / plain.per_second
        print(f"-- {level} concurrent client(s)")
        for result in (plain, full):
            print(f"{result.name:34} {result.per_second:8.0f} req/s   p50 {result.p50_ms:6.2f} ms   p99 {result.p99_ms:6.2f} ms")
        print(f"full turn / bare echo throughput: {ratio:.2f} (target >= 0.30)")
        report.append({"concurrency": level, "echo": asdict(plain), "turn": asdict(full), "ratio": round(ratio, 3)})
    print(f"all {sent} turns answered by the bot (warm-ups included)")
    if as_json:
        print(json.dumps(report))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--turns", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--smoke", action="store_true", help="48 turns at 4 clients: does it still run?")
    args = parser.parse_args()
    if args.smoke:
        args.turns, args.concurrency = 48, 4
    run(main(args.turns, args.concurrency, args.json))

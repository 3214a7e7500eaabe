"""Full conversation turns through the HTTP API next to a bare aiohttp echo, in one run.

    python bench/turns.py [--turns 3000] [--concurrency 16] [--json]

Both servers run as their own processes on loopback; this process is the client for both,
so the machine's noise hits both alike and the ratio is what to read.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
QUESTIONS = [
    "where is my order NW-10482",
    "what is your return policy",
    "how much is the ridgeline boot",
    "do you ship to canada",
    "my jacket zipper broke after a week",
    "any deals on right now",
]


@dataclass
class Result:
    name: str
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def wait_healthy(session: aiohttp.ClientSession, base: str) -> None:
    for _ in range(300):
        try:
            async with session.get(f"{base}/healthz") as response:
                if response.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.1)
    raise SystemExit(f"{base} did not start")


def percentile(samples: list[float], q: float) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[q - 1] if len(samples) > 1 else samples[0]


async def drive(name: str, count: int, concurrency: int, one: "callable") -> Result:  # type: ignore[valid-type]
    latencies: list[float] = []
    remaining = iter(range(count))

    async def worker(index: int) -> None:
        for i in remaining:
            started = time.perf_counter()
            await one(index, i)
            latencies.append((time.perf_counter() - started) * 1000)

    started = time.perf_counter()
    await asyncio.gather(*(worker(w) for w in range(concurrency)))
    seconds = time.perf_counter() - started
    return Result(name, count, seconds, percentile(latencies, 50), percentile(latencies, 99))


async def bench_echo(session: aiohttp.ClientSession, base: str, turns: int, concurrency: int) -> Result:
    async def one(_worker: int, i: int) -> None:
        async with session.post(f"{base}/echo", json={"text": QUESTIONS[i % len(QUESTIONS)]}) as response:
            assert response.status == 200
            await response.json()

    await drive("echo", min(200, turns), concurrency, one)  # warm-up
    return await drive("bare aiohttp echo", turns, concurrency, one)


async def bench_turns(session: aiohttp.ClientSession, base: str, turns: int, concurrency: int) -> Result:
    # One conversation per worker: turns of one conversation are ordered, so concurrency
    # comes from many conversations, as in real traffic.
    visitors = []
    for _ in range(concurrency):
        async with session.post(f"{base}/api/conversations") as response:
            visitors.append(await response.json())

    async def one(worker: int, i: int) -> None:
        visitor = visitors[worker]
        url = f"{base}/api/conversations/{visitor['conversation_id']}/messages"
        headers = {"Authorization": f"Bearer {visitor['token']}"}
        async with session.post(url, json={"text": QUESTIONS[i % len(QUESTIONS)]}, headers=headers) as response:
            body = await response.json()
            assert response.status == 200 and body["reply"]["model"] == "local", body

    await drive("turn", min(200, turns), concurrency, one)  # warm-up
    return await drive("full turn (local model, SQLite)", turns, concurrency, one)


async def main(turns: int, concurrency: int, as_json: bool) -> None:
    echo_port, app_port = free_port(), free_port()
    with tempfile.TemporaryDirectory() as data_dir:
        # One client address sends every turn: the web chat's per-address rate limits stay off.
        env = {**os.environ, "SWITCHBOARD_DATA_DIR": data_dir, "SWITCHBOARD_RATE_LIMITS__ENABLED": "false"}
        servers = [
            subprocess.Popen([sys.executable, str(ROOT / "bench" / "echo_server.py"), str(echo_port)], stderr=subprocess.DEVNULL),
            subprocess.Popen(
                [sys.executable, "-m", "agent.cli", "serve", "--port", str(app_port)],
                env=env,
                cwd=ROOT,
                stderr=subprocess.DEVNULL,
            ),
        ]
        try:
            connector = aiohttp.TCPConnector(limit=concurrency)
            async with aiohttp.ClientSession(connector=connector) as session:
                echo_base, app_base = f"http://127.0.0.1:{echo_port}", f"http://127.0.0.1:{app_port}"
                await wait_healthy(session, echo_base)
                await wait_healthy(session, app_base)
                # One client at a time shows the latency of a turn; many show throughput.
                rows = []
                for level in sorted({1, concurrency}):
                    count = turns if level == concurrency else max(200, turns // 5)
                    echo = await bench_echo(session, echo_base, count, level)
                    full = await bench_turns(session, app_base, count, level)
                    rows.append((level, echo, full))
        finally:
            for server in servers:
                server.terminate()
                server.wait(timeout=15)
    report = []
    for level, echo, full in rows:
        ratio = full.per_second / echo.per_second
        print(f"-- {level} concurrent client(s)")
        for result in (echo, full):
            print(f"{result.name:34} {result.per_second:8.0f} req/s   p50 {result.p50_ms:6.2f} ms   p99 {result.p99_ms:6.2f} ms")
        print(f"full turn / bare echo throughput: {ratio:.2f} (target >= 0.30)")
        report.append({"concurrency": level, "echo": asdict(echo), "turn": asdict(full), "ratio": round(ratio, 3)})
    if as_json:
        print(json.dumps(report))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--turns", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    asyncio.run(main(args.turns, args.concurrency, args.json))

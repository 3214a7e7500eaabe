"""What every benchmark shares: the processes it measures, the clock, and the checks.

A benchmark that measures errors is worse than none, so each checks what it got (`expect`)
and `run` turns a failed check into a non-zero exit with the reason.
"""

from __future__ import annotations

import asyncio
import os
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Coroutine, Iterator, Mapping
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

import aiohttp

ROOT = Path(__file__).resolve().parents[2]
QUESTIONS = [
    "where is my order NW-10482",
    "what is your return policy",
    "how much is the ridgeline boot",
    "do you ship to canada",
    "my jacket zipper broke after a week",
    "any deals on right now",
]
# Settings every benchmarked `switchboard serve` gets, as environment variables over the shipped
# config. A limit that would turn benchmark traffic away (a rate limit per address, say) is
# switched off here, for every benchmark at once.
# One client address sends every turn: the per-address rate limits would measure themselves.
SERVER_SETTINGS: dict[str, str] = {"SWITCHBOARD_RATE_LIMITS__ENABLED": "false"}
# Inherited variables with these prefixes are dropped: the server measured is the one described
# here, not whatever the shell running the benchmark has configured.
_NOT_INHERITED = ("SWITCHBOARD_", "SLACK_", "TWILIO_")
T = TypeVar("T")


class Broken(Exception):
    """The benchmark did not measure what it means to (an error, an escalation, a lost turn)."""


def expect(condition: bool, what: str) -> None:
    if not condition:
        raise Broken(what)


def run(main: Coroutine[Any, Any, None]) -> None:
    """Run a benchmark's main; a failed check or a server that died exits non-zero."""
    try:
        asyncio.run(main)
    except Broken as exc:
        sys.exit(f"{Path(sys.argv[0]).name}: FAILED: {exc}")


class Askers(Generic[T]):
    """Who asks what: each worker asks every question once per conversation, then opens another.

    Real customers do not send one question hundreds of times; the same question, or the same
    answer, again and again in one conversation is what hands it to a person (escalation's
    frustration and bot-repeating triggers). A conversation is whatever a channel needs to
    address one (a web chat id and token, an SMS sender's number).
    """

    def __init__(self, conversations: Iterator[T], workers: int) -> None:
        self._fresh = conversations
        self._current: list[T | None] = [None] * workers
        self._asked = [0] * workers

    @staticmethod
    def needed(turns: int, workers: int) -> int:
        return -(-turns // len(QUESTIONS)) + workers  # each worker may leave one conversation part-used

    def next(self, worker: int) -> tuple[T, str]:
        asked = self._asked[worker]
        current = self._current[worker]
        if current is None or asked % len(QUESTIONS) == 0:
            current = self._current[worker] = next(self._fresh)
        self._asked[worker] += 1
        return current, QUESTIONS[(worker + asked) % len(QUESTIONS)]


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
        return int(sock.getsockname()[1])


def percentile(samples: list[float], q: int) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[q - 1] if len(samples) > 1 else samples[0]


async def drive(name: str, count: int, concurrency: int, one: Callable[[int, int], Awaitable[None]]) -> Result:
    """`count` calls of `one(worker, i)` from `concurrency` workers; every call must complete."""
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
    expect(len(latencies) == count, f"{name}: {len(latencies)} of {count} calls completed")
    return Result(name, count, seconds, percentile(latencies, 50), percentile(latencies, 99))


@dataclass
class Served:
    """A server process on a loopback port, its output kept in a log for when it fails."""

    name: str
    base: str
    process: subprocess.Popen[bytes]
    log: Path
    data_dir: Path | None = None

    async def wait_healthy(self, session: aiohttp.ClientSession, seconds: float = 60) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            expect(self.process.poll() is None, f"{self.name} exited with {self.process.returncode} while starting")
            try:
                async with session.get(f"{self.base}/healthz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
        raise Broken(f"{self.name} did not answer /healthz within {seconds:.0f} s")

    def turn_outcomes(self) -> Counter[str]:
        """How the server's turns ended (answered, escalated, relayed, failed), from its database."""
        assert self.data_dir is not None
        with closing(sqlite3.connect(self.data_dir / "switchboard.db")) as db:
            return Counter(dict(db.execute("SELECT outcome, COUNT(*) FROM turns GROUP BY outcome").fetchall()))

    def expect_answered(self, turns: int) -> None:
        """Every one of `turns` turns answered by the bot: none escalated, relayed, failed or lost."""
        outcomes = self.turn_outcomes()
        expect(outcomes == Counter(answered=turns), f"{self.name}: wanted {turns} answered turns, got {dict(outcomes)}")

    def tail(self, lines: int = 30) -> str:
        text = self.log.read_text(errors="replace").splitlines() if self.log.exists() else []
        return "\n".join(text[-lines:])


def server_env(data_dir: Path, settings: Mapping[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(_NOT_INHERITED)}
    return {**env, **SERVER_SETTINGS, "SWITCHBOARD_DATA_DIR": str(data_dir), **settings}


@contextmanager
def serving(argv: list[str], name: str, env: Mapping[str, str] | None = None) -> Iterator[Served]:
    """Run `argv` (given a free port as its last argument) until the block ends."""
    port = free_port()
    with tempfile.TemporaryDirectory() as scratch:
        log = Path(scratch) / "output.log"
        with log.open("wb") as out:
            process = subprocess.Popen([*argv, str(port)], env=dict(env or os.environ), cwd=ROOT, stdout=out, stderr=out)
        served = Served(name, f"http://127.0.0.1:{port}", process, log)
        try:
            yield served
        except BaseException:
            if served.tail():
                print(f"-- last lines from {name}:\n{served.tail()}", file=sys.stderr)
            raise
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@contextmanager
def switchboard(settings: Mapping[str, str] | None = None) -> Iterator[Served]:
    """`switchboard serve` with the shipped config, SERVER_SETTINGS and `settings`, in a fresh
    data dir (embedded SQLite, the local model)."""
    with tempfile.TemporaryDirectory() as data_dir:
        env = server_env(Path(data_dir), settings or {})
        with serving([sys.executable, "-m", "agent.cli", "serve", "--port"], "switchboard serve", env) as served:
            served.data_dir = Path(data_dir)
            yield served


@contextmanager
def echo_server() -> Iterator[Served]:
    """The baseline: a bare aiohttp handler echoing the JSON it gets."""
    with serving([sys.executable, str(ROOT / "bench" / "support" / "echo_server.py")], "bare echo") as served:
        yield served

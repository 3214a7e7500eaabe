"""How fast a server that starts after a crash answers the messages left unanswered, next to
answering the same number of web chat turns live, in one run.

    python bench/recovery.py [--messages 1000] [--concurrency 16] [--json] [--smoke]

Both sides run `switchboard serve` (embedded SQLite, local model) as its own process. Live: web
chat turns through the HTTP API at `--concurrency` clients. Recovery: the same number of
customer messages, six to a conversation, stored straight into a fresh database with no turn
(as a process that died right after storing them leaves them); then the server starts, and the
clock runs until every one of them has its answered turn. Reported: both rates, their ratio, and
the time from start-up to the last answer. `--smoke` is a few dozen messages.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import sys
import tempfile
import time
from contextlib import closing
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.support.harness import QUESTIONS, expect, run, server_env, serving, switchboard  # noqa: E402
from bench.turns import bench_turns  # noqa: E402
from agent.contracts import InboundMessage  # noqa: E402
from agent.settings import load_settings  # noqa: E402
from agent.store import Database, ConversationStore  # noqa: E402
from agent.store.migrate import upgrade  # noqa: E402

PER_CONVERSATION = len(QUESTIONS)  # each asked once: no conversation repeats itself


async def leave_unanswered(data_dir: Path, messages: int) -> None:
    """Store `messages` web chat messages and no turns, as a process killed right after storing them would."""
    url = load_settings(data_dir=str(data_dir)).database_url
    await asyncio.to_thread(upgrade, url)
    store = ConversationStore(Database(url))
    try:
        conversation_id = ""
        for n in range(messages):
            if n % PER_CONVERSATION == 0:
                conversation = await store.create_conversation("web", f"bench-{n}", "visitor")
                conversation_id = conversation.id
            question = QUESTIONS[n % PER_CONVERSATION]
            await store.save_inbound(InboundMessage("web", "visitor", f"bench-{n}", question, conversation_id=conversation_id))
    finally:
        await store.close()


def answered(data_dir: Path) -> dict[str, int]:
    with closing(sqlite3.connect(data_dir / "switchboard.db")) as db:
        return dict(db.execute("SELECT outcome, COUNT(*) FROM turns GROUP BY outcome").fetchall())


async def recover(messages: int) -> tuple[float, float]:
    """(seconds from the server's start to the last answer, seconds from healthy to the last answer)."""
    with tempfile.TemporaryDirectory() as scratch:
        data_dir = Path(scratch)
        await leave_unanswered(data_dir, messages)
        started = time.perf_counter()
        argv = [sys.executable, "-m", "agent.cli", "serve", "--port"]
        with serving(argv, "switchboard serve (recovering)", server_env(data_dir, {})) as app:
            async with aiohttp.ClientSession() as session:
                await app.wait_healthy(session)
            healthy = time.perf_counter()
            deadline = started + 600
            while sum(answered(data_dir).values()) < messages:
                expect(time.perf_counter() < deadline, f"only {answered(data_dir)} of {messages} answered after 600 s")
                expect(app.process.poll() is None, "the recovering server exited")
                await asyncio.sleep(0.02)
            done = time.perf_counter()
            outcomes = answered(data_dir)
            expect(outcomes == {"answered": messages}, f"wanted {messages} answered turns, got {outcomes}")
    return done - started, done - healthy


async def main(messages: int, concurrency: int, as_json: bool) -> None:
    with switchboard() as app:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:
            await app.wait_healthy(session)
            live = await bench_turns(session, app.base, messages, concurrency, warmup=min(200, messages))
    total_s, after_healthy_s = await recover(messages)
    recovered_per_s = messages / after_healthy_s
    report = {
        "messages": messages,
        "live_turns_per_s": round(live.per_second, 1),
        "recovered_per_s": round(recovered_per_s, 1),
        "ratio": round(recovered_per_s / live.per_second, 2),
        "start_to_last_answer_s": round(total_s, 2),
        "healthy_to_last_answer_s": round(after_healthy_s, 2),
    }
    if as_json:
        print(json.dumps(report))
        return
    print(f"{'':<34}{'messages/s':>12}")
    print(f"{'live web chat turns, ' + str(concurrency) + ' clients':<34}{report['live_turns_per_s']:>12}")
    print(f"{'backlog answered after a restart':<34}{report['recovered_per_s']:>12}")
    print(f"ratio {report['ratio']}; {messages} left unanswered were all answered {report['start_to_last_answer_s']} s after "
          f"the server started ({report['healthy_to_last_answer_s']} s after it answered /healthz)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--smoke", action="store_true", help="a few dozen messages: does it still run?")
    args = parser.parse_args()
    if args.smoke:
        args.messages, args.concurrency = 48, 4
    run(main(args.messages, args.concurrency, args.json))

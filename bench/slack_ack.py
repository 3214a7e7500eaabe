"""How fast Slack gets its 200 for a signed event, next to a bare aiohttp echo, in one run.

    python bench/slack_ack.py [--events 1000] [--concurrency 16] [--json] [--smoke]

`switchboard serve` (embedded SQLite, local model, Slack on against a local fake Slack Web API
in this process) and the bare echo run as their own processes on loopback. Reported: the
acknowledgement latency of signed DM events (the message is stored before the 200), the echo's
latency for the same body, their ratio, and how long until the answer reached the fake API
through the outbox. Slack's limit for the acknowledgement is 3 s. Every event must get one
answer, and the server's database must hold one answered turn per event; anything else fails
the run. `--smoke` is a few dozen events, to show in seconds that it still runs.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.support.harness import QUESTIONS, Broken, drive, echo_server, expect, percentile, run, switchboard  # noqa: E402
from tests.support.fake_slack import BOT_TOKEN, SIGNING_SECRET, dm, event_callback, fake_slack, signed  # noqa: E402


async def main(events: int, concurrency: int, as_json: bool) -> None:
    async with fake_slack() as api:
        settings = {
            "SWITCHBOARD_SLACK__API_BASE_URL": api.base_url,
            "SWITCHBOARD_LOG__LEVEL": "warning",
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_BOT_TOKEN": BOT_TOKEN,
        }
        sent_at: dict[str, float] = {}
        with echo_server() as plain, switchboard(settings) as app:
            async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:
                await plain.wait_healthy(session)
                await app.wait_healthy(session)

                def channel(worker: int, i: int) -> str:
                    return f"D{worker:03d}{i:06d}"

                def body(worker: int, i: int) -> str:
                    # Each event from another customer (a DM of its own), as traffic arrives.
                    event = dm(QUESTIONS[i % len(QUESTIONS)], ts=f"{1_700_000_000 + i}.{worker:06d}", channel=channel(worker, i))
                    return json.dumps(event_callback(event, event_id=f"Ev{worker}-{i}"))

                async def echo(worker: int, i: int) -> None:
                    async with session.post(f"{plain.base}/echo", json={"text": body(worker, i)}) as response:
                        expect(response.status == 200, f"echo answered {response.status}")
                        await response.read()

                async def ack(worker: int, i: int) -> None:
                    payload = body(worker, i)
                    sent_at[channel(worker, i)] = time.perf_counter()
                    async with session.post(f"{app.base}/slack/events", data=payload, headers=signed(payload)) as response:
                        text = await response.text()
                        expect(response.status == 200, f"a signed event answered {response.status}: {text}")

                await drive("warm-up", min(100, events), concurrency, echo)
                echoed = await drive("bare aiohttp echo", events, concurrency, echo)
                acked = await drive("signed Slack event, stored, 200", events, concurrency, ack)
                try:
                    posts = await api.wait_for("chat.postMessage", events, timeout=300)
                except AssertionError as exc:
                    raise Broken(f"not every event was answered in 300 s: {str(exc)[:300]}") from None
                # One answer per event, to the channel it came from; the database says it was the bot's.
                per_channel = Counter(post.params["channel"] for post in posts)
                expect(set(per_channel) == set(sent_at) and set(per_channel.values()) == {1}, f"{len(posts)} answers for {events} events")
                app.expect_answered(events)
    # The fake stamps calls with time.monotonic(); perf_counter reads the same clock on Linux.
    delivered = {post.params["channel"]: post.at for post in posts}
    answered_ms = [(delivered[channel] - at) * 1000 for channel, at in sent_at.items()]
    ratio = acked.p50_ms / echoed.p50_ms
    for result in (echoed, acked):
        print(f"{result.name:34} {result.per_second:8.0f} req/s   p50 {result.p50_ms:6.2f} ms   p99 {result.p99_ms:6.2f} ms")
    print(f"ack p50 / echo p50: {ratio:.1f}x; slowest ack {acked.p99_ms:.1f} ms (p99) against Slack's 3000 ms")
    print(f"answer in the fake Slack API after the event: p50 {percentile(answered_ms, 50):.1f} ms, p99 {percentile(answered_ms, 99):.1f} ms")
    print(f"all {events} events answered once by the bot")
    if as_json:
        print(json.dumps({"echo": vars(echoed), "ack": vars(acked), "ack_over_echo_p50": round(ratio, 2),
                          "answer_p50_ms": percentile(answered_ms, 50), "answer_p99_ms": percentile(answered_ms, 99)}))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--smoke", action="store_true", help="40 events at 4 clients: does it still run?")
    args = parser.parse_args()
    if args.smoke:
        args.events, args.concurrency = 40, 4
    run(main(args.events, args.concurrency, args.json))

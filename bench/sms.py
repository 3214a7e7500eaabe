"""SMS webhook turns (signed, answered inline as TwiML) next to web chat API turns, in one run.

    python bench/sms.py [--turns 1000] [--concurrency 16] [--json] [--smoke]

One `switchboard serve` process with Twilio on (made-up credentials; inline answers never call
the REST API) serves both; this process is the client. The SMS path adds the signature check,
form parsing, taking the held reply out of the outbox and TwiML; the ratio shows what that costs.
On both sides each customer asks a few questions; their first turn also starts the conversation
(the SMS one by arriving, the web one by opening it first, as the widget does).
Every turn must be the bot's answer: afterwards the server's database must hold exactly the
turns sent, all answered. `--smoke` is a few dozen turns, to show in seconds that it still runs.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import uuid
from dataclasses import asdict
from pathlib import Path

import aiohttp
from twilio.request_validator import RequestValidator

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.support.harness import Askers, Result, drive, expect, free_port, run, switchboard  # noqa: E402
from bench.turns import bench_turns, sizes  # noqa: E402

ACCOUNT_SID, AUTH_TOKEN = "AC" + "0" * 32, "bench-auth-token"
OUR_NUMBER = "+15005550006"
SENDERS = (f"+1555{n:07d}" for n in itertools.count())  # one run, one fresh database: never reused
TWILIO = {
    "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
    "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
    "SWITCHBOARD_TWILIO__API_BASE_URL": f"http://127.0.0.1:{free_port()}",  # nothing listens
}


async def bench_sms(session: aiohttp.ClientSession, base: str, count: int, concurrency: int, warmup: int) -> Result:
    validator = RequestValidator(AUTH_TOKEN)
    url = f"{base}/twilio/sms"

    async def run_turns(label: str, turns: int) -> Result:
        # A customer's number is their conversation: a new number every few questions.
        askers = Askers(SENDERS, concurrency)

        async def one(worker: int, _i: int) -> None:
            sender, question = askers.next(worker)
            params = {
                "MessageSid": "SM" + uuid.uuid4().hex,
                "AccountSid": ACCOUNT_SID,
                "From": sender,
                "To": OUR_NUMBER,
                "Body": question,
                "NumMedia": "0",
            }
            headers = {"X-Twilio-Signature": validator.compute_signature(url, params)}
            async with session.post(url, data=params, headers=headers) as response:
                body = await response.text()
                expect(response.status == 200 and "<Message>" in body, f"an SMS turn answered {response.status}: {body}")

        return await drive(label, turns, concurrency, one)

    await run_turns("sms", warmup)
    return await run_turns("SMS webhook turn (inline TwiML)", count)


async def main(turns: int, concurrency: int, as_json: bool) -> None:
    single, warmup = sizes(turns)
    with switchboard(TWILIO) as app:
        sent = 0
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:
            await app.wait_healthy(session)
            rows = []
            for level in sorted({1, concurrency}):
                count = turns if level == concurrency else single
                # Both sides start a new customer's conversation every few turns, in the turn.
                web = await bench_turns(session, app.base, count, level, warmup, "web chat turn", open_in_turn=True)
                sms = await bench_sms(session, app.base, count, level, warmup)
                sent += 2 * (warmup + count)
                rows.append((level, web, sms))
        # TwiML does not say whether the turn escalated; the server's own record does.
        app.expect_answered(sent)
    report = []
    for level, web, sms in rows:
        ratio = sms.per_second / web.per_second
        print(f"-- {level} concurrent client(s)")
        for result in (web, sms):
            print(f"{result.name:34} {result.per_second:8.0f} req/s   p50 {result.p50_ms:6.2f} ms   p99 {result.p99_ms:6.2f} ms")
        print(f"SMS webhook / web chat throughput: {ratio:.2f}")
        report.append({"concurrency": level, "web": asdict(web), "sms": asdict(sms), "ratio": round(ratio, 3)})
    print(f"all {sent} turns answered by the bot (warm-ups included)")
    if as_json:
        print(json.dumps(report))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--turns", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--smoke", action="store_true", help="48 turns at 4 clients: does it still run?")
    args = parser.parse_args()
    if args.smoke:
        args.turns, args.concurrency = 48, 4
    run(main(args.turns, args.concurrency, args.json))

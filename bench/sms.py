"""SMS webhook turns (signed, answered inline as TwiML) next to web chat API turns, in one run.

    python bench/sms.py [--turns 1000] [--concurrency 16] [--json]

One `switchboard serve` process with Twilio on (made-up credentials; inline answers never call
the REST API) serves both; this process is the client. The SMS path adds the signature check,
form parsing, taking the held reply out of the outbox and TwiML; the ratio shows what that costs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import uuid
from dataclasses import asdict
from pathlib import Path

import aiohttp
from twilio.request_validator import RequestValidator

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.turns import QUESTIONS, ROOT, Result, bench_turns, drive, free_port, wait_healthy  # noqa: E402

ACCOUNT_SID, AUTH_TOKEN = "AC" + "0" * 32, "bench-auth-token"
OUR_NUMBER = "+15005550006"


async def bench_sms(session: aiohttp.ClientSession, base: str, turns: int, concurrency: int) -> Result:
    validator = RequestValidator(AUTH_TOKEN)
    url = f"{base}/twilio/sms"
    # One customer number per worker: one conversation each, as with many texting customers.
    senders = [f"+1555{uuid.uuid4().int % 10**7:07d}" for _ in range(concurrency)]

    async def one(worker: int, i: int) -> None:
        params = {
            "MessageSid": "SM" + uuid.uuid4().hex,
            "AccountSid": ACCOUNT_SID,
            "From": senders[worker],
            "To": OUR_NUMBER,
            "Body": QUESTIONS[i % len(QUESTIONS)],
            "NumMedia": "0",
        }
        headers = {"X-Twilio-Signature": validator.compute_signature(url, params)}
        async with session.post(url, data=params, headers=headers) as response:
            body = await response.text()
            assert response.status == 200 and "<Message>" in body, body

    await drive("sms", min(200, turns), concurrency, one)  # warm-up
    return await drive("SMS webhook turn (inline TwiML)", turns, concurrency, one)


async def main(turns: int, concurrency: int, as_json: bool) -> None:
    port = free_port()
    with tempfile.TemporaryDirectory() as data_dir:
        env = {
            **os.environ,
            "SWITCHBOARD_DATA_DIR": data_dir,
            "SWITCHBOARD_RATE_LIMITS__ENABLED": "false",  # one client address sends every web chat turn
            "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
            "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
            "SWITCHBOARD_TWILIO__API_BASE_URL": f"http://127.0.0.1:{free_port()}",  # nothing listens
        }
        env.pop("SWITCHBOARD_PUBLIC_URL", None)
        env.pop("SWITCHBOARD_SERVER__PUBLIC_URL", None)
        server = subprocess.Popen(
            [sys.executable, "-m", "agent.cli", "serve", "--port", str(port)], env=env, cwd=ROOT, stderr=subprocess.DEVNULL
        )
        try:
            async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:
                base = f"http://127.0.0.1:{port}"
                await wait_healthy(session, base)
                rows = []
                for level in sorted({1, concurrency}):
                    count = turns if level == concurrency else max(200, turns // 5)
                    web = await bench_turns(session, base, count, level)
                    sms = await bench_sms(session, base, count, level)
                    rows.append((level, web, sms))
        finally:
            server.terminate()
            server.wait(timeout=15)
    report = []
    for level, web, sms in rows:
        ratio = sms.per_second / web.per_second
        print(f"-- {level} concurrent client(s)")
        for result in (web, sms):
            print(f"{result.name:34} {result.per_second:8.0f} req/s   p50 {result.p50_ms:6.2f} ms   p99 {result.p99_ms:6.2f} ms")
        print(f"SMS webhook / web chat throughput: {ratio:.2f}")
        report.append({"concurrency": level, "web": asdict(web), "sms": asdict(sms), "ratio": round(ratio, 3)})
    if as_json:
        print(json.dumps(report))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--turns", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    asyncio.run(main(args.turns, args.concurrency, args.json))

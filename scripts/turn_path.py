"""The path of one web chat turn through the code: how many of the project's function frames it
enters, which modules they belong to, and how many database transactions it opens.

Runs the real server on embedded defaults (SQLite, the local model) on a loopback port, warms it
with one turn, then traces the next: the message's POST until its answer arrives. A count, not a
time: it is the same on every machine for the same code and data.

    python scripts/turn_path.py [--json] [--modules]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import threading
from collections import Counter
from pathlib import Path
from types import FrameType
from typing import Any

import aiohttp
from sqlalchemy import event
from sqlalchemy.engine import Engine

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = tuple(str(ROOT / name) + "/" for name in ("agent", "channels", "personas"))


class Tracer:
    """Counts calls into the project's own functions, and the transactions begun, while on."""

    def __init__(self) -> None:
        self.frames: Counter[str] = Counter()
        self.transactions = 0
        self.on = False
        event.listen(Engine, "begin", self._begun)

    def _begun(self, connection: Any) -> None:
        if self.on:
            self.transactions += 1

    def _profile(self, frame: FrameType, what: str, arg: Any) -> None:
        if what == "call" and frame.f_code.co_filename.startswith(PACKAGES):
            module = frame.f_code.co_filename.removeprefix(str(ROOT) + "/").removesuffix(".py").replace("/", ".")
            self.frames[module] += 1

    def start(self) -> None:
        self.on = True
        threading.setprofile(self._profile)  # the store's SQLite work runs in threads
        sys.setprofile(self._profile)

    def stop(self) -> None:
        sys.setprofile(None)
        threading.setprofile(None)  # type: ignore[arg-type]
        self.on = False


async def one_turn(session: aiohttp.ClientSession, base_url: str, conversation: dict[str, Any], text: str) -> None:
    url = f"{base_url}/api/conversations/{conversation['conversation_id']}/messages"
    headers = {"Authorization": f"Bearer {conversation['token']}"}
    async with session.post(url, json={"text": text}, headers=headers) as response:
        response.raise_for_status()
        await response.json()


async def trace(tracer: Tracer) -> None:
    from agent.app.server import create_app
    from agent.logs import configure_logging
    from agent.settings import load_settings
    from agent.store.migrate import upgrade
    from aiohttp import web

    with tempfile.TemporaryDirectory() as data:
        settings = load_settings(data_dir=data, log={"level": "warning", "format": "json"})
        configure_logging(settings.log.level, settings.log.format)
        await asyncio.to_thread(upgrade, settings.database_url)
        runner = web.AppRunner(create_app(settings), shutdown_timeout=2)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        base_url = f"http://127.0.0.1:{runner.addresses[0][1]}"
        try:
            async with aiohttp.ClientSession() as session:
                async with session.post(f"{base_url}/api/conversations") as response:
                    conversation = await response.json()
                await one_turn(session, base_url, conversation, "Hi, where is my order?")  # warm caches
                tracer.start()
                try:
                    await one_turn(session, base_url, conversation, "What is your return policy for tents?")
                finally:
                    tracer.stop()
        finally:
            await runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--modules", action="store_true", help="list the frames per module")
    args = parser.parse_args()
    tracer = Tracer()
    asyncio.run(trace(tracer))
    frames = sum(tracer.frames.values())
    if args.json:
        print(json.dumps({"frames": frames, "transactions": tracer.transactions, "modules": dict(tracer.frames)}))
        return
    print(f"one web chat turn: {frames} frames entered in the project's code, {len(tracer.frames)} modules, "
          f"{tracer.transactions} database transactions")
    if args.modules:
        for module, count in tracer.frames.most_common():
            print(f"  {count:6d}  {module}")


if __name__ == "__main__":
    main()

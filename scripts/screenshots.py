"""The docs' screenshots, taken from the real pages so they never go stale.

Starts `switchboard serve` on the shipped configuration in a fresh data directory on a loopback
port, makes a staff account, and drives headless Chromium through Playwright: the web chat asks
about an order and waits for the answer (docs/images/webchat.png), then asks for a person; the
staff console signs in, opens and claims that conversation and replies (docs/images/console.png).

    python scripts/screenshots.py [--out DIR]

Chromium is found as `chromium` on the PATH, or at $SWITCHBOARD_TEST_CHROMIUM.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "images"
VIEWPORT = {"width": 1200, "height": 800}
# Without these, Chromium tries to reach the network at start-up.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
STAFF_USER, STAFF_NAME, STAFF_PASSWORD = "alice", "Alice Ng", "screenshot-password"
QUESTION = "where is my order NW-10482?"
PROOF = "it's ana@example.com"  # the email on that demo order: the look-up needs it first
ASK_FOR_A_PERSON = "thanks! can I talk to a real person about changing the address?"
STAFF_REPLY = "Hi, I'm Alice. I can update the delivery address on NW-10482 for you. What's the new one?"
# The shell's own settings would change what the pages show; the server gets only these.
_NOT_INHERITED = ("SWITCHBOARD_", "SLACK_", "TWILIO_")


class ScreenshotError(Exception):
    """The pages could not be driven to the state the screenshots show."""


def chromium_executable() -> str:
    found = os.environ.get("SWITCHBOARD_TEST_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not os.path.exists(found):
        raise ScreenshotError(f"Chromium not found at {found} (apt-get install chromium)")
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def switchboard(*args: str) -> list[str]:
    # The checkout's own code, whichever `switchboard` is installed.
    return [sys.executable, "-m", "agent.cli", *args]


def server_env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(_NOT_INHERITED)}
    return {**env, "SWITCHBOARD_DATA_DIR": str(data_dir), "SWITCHBOARD_LOG__LEVEL": "warning"}


def wait_healthy(base_url: str, process: subprocess.Popen[bytes], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ScreenshotError(f"the server exited with {process.returncode} while starting")
        try:
            with urllib.request.urlopen(f"{base_url}/healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.1)
    raise ScreenshotError(f"the server did not answer /healthz within {seconds:.0f} s")


@contextmanager
def running_server(data_dir: Path) -> Iterator[str]:
    """`switchboard serve` on a free loopback port, with one staff account; yields its base URL."""
    env = server_env(data_dir)
    port = free_port()
    log = data_dir / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            switchboard("serve", "--host", "127.0.0.1", "--port", str(port)), cwd=ROOT, env=env, stdout=out, stderr=out
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(base_url, process)
        subprocess.run(
            switchboard("staff", "add", STAFF_USER, "--name", STAFF_NAME, "--password-stdin"),
            cwd=ROOT, env=env, input=STAFF_PASSWORD + "\n", text=True, check=True, capture_output=True,
        )
        yield base_url
    except BaseException:
        print(log.read_text(errors="replace")[-3000:], file=sys.stderr)
        raise
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


async def chat_page(browser: Any, base_url: str, out: Path) -> Any:
    """The web chat answering an order question; left open, waiting for a person."""
    page = await (await browser.new_context(viewport=VIEWPORT)).new_page()
    await page.goto(base_url + "/")
    await page.locator(".msg-greeting").wait_for()
    await page.fill("#input", QUESTION)
    await page.click("#send")
    await page.locator(".msg-bot[data-id] .msg-text").first.wait_for()
    await page.fill("#input", PROOF)
    await page.click("#send")
    await page.locator(".msg-bot[data-id] .msg-text", has_text="shipped").wait_for()
    await page.locator("#typing[hidden]").wait_for(state="attached")
    await page.screenshot(path=str(out / "webchat.png"), animations="disabled")
    await page.fill("#input", ASK_FOR_A_PERSON)
    await page.click("#send")
    await page.locator("body[data-state='waiting']").wait_for(state="attached")
    return page


async def console_page(browser: Any, base_url: str, out: Path, customer: Any) -> None:
    """The staff console with that conversation claimed and answered."""
    page = await (await browser.new_context(viewport=VIEWPORT)).new_page()
    await page.goto(base_url + "/staff")
    await page.fill("#username", STAFF_USER)
    await page.fill("#password", STAFF_PASSWORD)
    await page.click("#login-button")
    await page.locator("body[data-connected='true']").wait_for(state="attached")
    await page.locator(".queue-item").first.click()
    await page.locator("body[data-conv-state='waiting']").wait_for(state="attached")
    await page.click("#claim")
    await page.locator("body[data-conv-state='with_human']").wait_for(state="attached")
    await page.fill("#reply-input", STAFF_REPLY)
    await page.click("#reply-send")
    await page.locator("#messages .msg-staff .msg-text", has_text=STAFF_REPLY).wait_for()
    await customer.locator(".msg-staff .msg-text", has_text=STAFF_REPLY).wait_for()
    await page.screenshot(path=str(out / "console.png"), animations="disabled")


async def take(base_url: str, out: Path) -> None:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=chromium_executable(), headless=True, args=CHROMIUM_ARGS)
        try:
            customer = await chat_page(browser, base_url, out)
            await console_page(browser, base_url, out, customer)
        finally:
            await browser.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT, help=f"where the PNGs go (default: {OUT.relative_to(ROOT)})")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    try:
        chromium_executable()
        with tempfile.TemporaryDirectory() as scratch, running_server(Path(scratch)) as base_url:
            asyncio.run(take(base_url, args.out))
    except ScreenshotError as exc:
        print(f"screenshots: {exc}", file=sys.stderr)
        return 1
    for name in ("webchat.png", "console.png"):
        print(args.out / name)
    return 0


if __name__ == "__main__":
    sys.exit(main())

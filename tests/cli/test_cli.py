"""The `switchboard` command as a user runs it: real processes, real ports."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.support.services import fresh_postgres_database

SWITCHBOARD = [sys.executable, "-m", "agent.cli"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def env_for(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SWITCHBOARD_")}
    env.update(SWITCHBOARD_DATA_DIR=str(tmp_path / "data"), **extra)
    return env


def wait_healthy(base_url: str, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"server exited: {process.stderr.read() if process.stderr else ''}")
        try:
            if httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError("server did not become healthy")


def test_serve_runs_on_embedded_defaults_and_logs_json_with_ids(tmp_path: Path) -> None:
    port = free_port()
    process = subprocess.Popen(
        [*SWITCHBOARD, "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env_for(tmp_path),
        stderr=subprocess.PIPE,
        text=True,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(base_url, process)
        assert (tmp_path / "data" / "switchboard.db").exists()  # migrated by itself
        created = httpx.post(f"{base_url}/api/conversations").json()
        reply = httpx.post(
            f"{base_url}/api/conversations/{created['conversation_id']}/messages",
            json={"text": "where is NW-10482"},
            headers={"Authorization": f"Bearer {created['token']}"},
        ).json()
        assert "NW-10482" in reply["reply"]["text"]
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=15)
    assert process.returncode == 0
    events = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    turns = [e for e in events if e["event"] == "turn_done"]
    assert len(turns) == 1
    assert turns[0]["conversation_id"] == created["conversation_id"] and turns[0]["turn_id"]
    assert (turns[0]["route"], turns[0]["model"], turns[0]["outcome"]) == ("lookup", "local", "answered")


def test_an_invalid_config_fails_start_up_naming_the_key(tmp_path: Path) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text("server:\n  port: -5\n")
    result = subprocess.run(
        [*SWITCHBOARD, "serve", "--config", str(config)], env=env_for(tmp_path), capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0
    assert "server.port" in result.stderr and "Traceback" not in result.stderr


def test_serve_with_redis_refuses_to_start_without_a_shared_secret_key(tmp_path: Path) -> None:
    env = env_for(tmp_path, SWITCHBOARD_REDIS__URL="redis://127.0.0.1:6379/0")
    result = subprocess.run(
        [*SWITCHBOARD, "serve", "--port", str(free_port())], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0
    assert "SWITCHBOARD_SECRET_KEY" in result.stderr and "several server processes" in result.stderr
    assert "Traceback" not in result.stderr


def test_chat_in_the_terminal(tmp_path: Path) -> None:
    result = subprocess.run(
        [*SWITCHBOARD, "chat"],
        input="how much is the ridgeline boot\nquit\n",
        env=env_for(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "Sam:" in result.stdout
    assert "$149.00" in result.stdout
    assert "[sales · local]" in result.stdout


async def test_asking_for_a_person_in_the_terminal_keeps_the_bot_and_leaves_no_one_waiting(tmp_path: Path) -> None:
    from agent.store import Database, HandoffStore

    result = subprocess.run(
        [*SWITCHBOARD, "chat"],
        input="can I talk to a real person\nhow much is the ridgeline boot\nquit\n",
        env=env_for(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "staff can't reach a conversation in the terminal" in result.stdout
    assert "$149.00" in result.stdout  # the bot answers the next message
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'data' / 'switchboard.db'}")
    try:
        assert await HandoffStore(database).queue() == []
    finally:
        await database.dispose()


async def test_db_upgrade_on_postgresql(tmp_path: Path) -> None:
    async with fresh_postgres_database() as url:
        env = env_for(tmp_path, SWITCHBOARD_DATABASE__URL=url)
        port = free_port()
        refused = subprocess.run(
            [*SWITCHBOARD, "serve", "--port", str(port)], env=env, capture_output=True, text=True, timeout=60
        )
        # a shared database is not migrated behind the operator's back
        assert refused.returncode != 0 and "switchboard db upgrade" in refused.stderr
        assert "Traceback" not in refused.stderr
        upgraded = subprocess.run([*SWITCHBOARD, "db", "upgrade"], env=env, capture_output=True, text=True, timeout=60)
        assert upgraded.returncode == 0, upgraded.stderr
        process = subprocess.Popen([*SWITCHBOARD, "serve", "--port", str(port)], env=env, stderr=subprocess.PIPE, text=True)
        try:
            wait_healthy(f"http://127.0.0.1:{port}", process)
        finally:
            process.terminate()
            process.communicate(timeout=15)


@pytest.mark.parametrize("command", [["--help"], ["serve", "--help"], ["db", "upgrade", "--help"]])
def test_help(command: list[str]) -> None:
    result = subprocess.run([*SWITCHBOARD, *command], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0 and "Usage" in result.stdout


def test_serve_logs_a_request_it_cannot_parse_in_one_line(tmp_path: Path) -> None:
    """A control character in a header: aiohttp's 400, one warning line, no traceback, not the header."""
    port = free_port()
    process = subprocess.Popen(
        [*SWITCHBOARD, "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env_for(tmp_path),
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_healthy(f"http://127.0.0.1:{port}", process)
        with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
            conn.sendall(b"GET /api/staff/me HTTP/1.1\r\nHost: x\r\nCookie: switchboard_staff=s3cret\x01value\r\n\r\n")
            answer = conn.recv(4096)
        assert answer.split(b"\r\n")[0].endswith(b" 400 Bad Request")
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=30)
    assert "Traceback" not in stderr and "s3cret" not in stderr
    [line] = [line for line in stderr.splitlines() if "Error handling request" in line]
    assert line.startswith("WARNING aiohttp.server") and "BadHttpMessage (400)" in line

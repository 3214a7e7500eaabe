"""`switchboard --help` loads the command line only: each command imports what it runs on.

Start-up time is measured by bench/startup.py; what keeps it short is checked here, by the
packages a fresh interpreter holds after printing the help of every command.
"""

from __future__ import annotations

import subprocess
import sys

# Packages that only running a command needs, each costing start-up time: third-party ones, and
# asyncio, the standard library's costliest (it brings ssl and concurrent.futures).
HEAVY = (
    "asyncio",
    "numpy", "sklearn", "scipy", "torch",
    "slack_bolt", "slack_sdk", "twilio", "argon2", "redis",
    "sqlalchemy", "sqlmodel", "alembic", "aiosqlite", "asyncpg",
    "httpx", "aiohttp", "structlog", "pydantic", "pydantic_settings", "genai_prices",
)
COMMANDS = (
    [],
    ["serve"], ["chat"], ["db"], ["db", "upgrade"],
    ["router"], ["router", "train"], ["router", "explain"], ["router", "eval"], ["router", "clinc150"],
    ["staff"], ["staff", "add"], ["staff", "link-slack"], ["staff", "passwd"], ["staff", "list"],
    ["demo-store"], ["test"], ["test", "conversations"],
)
# Prints each command's help, as `switchboard ... --help` does, then the heavy packages loaded.
SCRIPT = f"""
import sys
from agent.cli.main import main
for command in {COMMANDS!r}:
    try:
        main([*command, "--help"], prog_name="switchboard")
    except SystemExit as exc:
        assert exc.code == 0, (command, exc.code)
print(sorted({{m.split(".")[0] for m in sys.modules}} & set({HEAVY!r})))
"""


def test_help_imports_none_of_the_heavy_packages() -> None:
    result = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "Usage: switchboard router eval" in result.stdout  # the help was printed
    loaded = result.stdout.splitlines()[-1]
    assert loaded == "[]", f"switchboard --help imported {loaded}"

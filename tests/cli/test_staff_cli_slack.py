"""`switchboard staff add --slack-user` and `switchboard staff link-slack`: who a Slack member acts as."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from agent.store import Database
from agent.store.slack import SlackStore
from tests.cli.test_cli import env_for

SWITCHBOARD = [sys.executable, "-m", "agent.cli", "staff"]


def run(tmp_path: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*SWITCHBOARD, *args], input=stdin, env=env_for(tmp_path), capture_output=True, text=True, timeout=60,
        start_new_session=True,
    )


async def slack_staff(tmp_path: Path, slack_user: str) -> str | None:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'data' / 'switchboard.db'}")
    try:
        member = await SlackStore(database).staff_for_slack_user(slack_user)
        return member.username if member else None
    finally:
        await database.dispose()


async def test_a_staff_account_is_linked_to_a_slack_member(tmp_path: Path) -> None:
    added = run(tmp_path, "add", "alice", "--name", "Alice Ng", "--slack-user", "u0alice01", "--password-stdin", stdin="s3cret pass\n")
    assert added.returncode == 0, added.stderr
    assert "linked Slack member U0ALICE01 to alice" in added.stderr
    assert await slack_staff(tmp_path, "U0ALICE01") == "alice"

    assert run(tmp_path, "add", "bob", "--name", "Bob", "--password-stdin", stdin="s3cret pass\n").returncode == 0
    relinked = run(tmp_path, "link-slack", "bob", "U0ALICE01")
    assert relinked.returncode == 0, relinked.stderr
    assert await slack_staff(tmp_path, "U0ALICE01") == "bob"


def test_bad_slack_ids_and_unknown_accounts_are_refused(tmp_path: Path) -> None:
    refused = run(tmp_path, "add", "carol", "--name", "Carol", "--slack-user", "#general", "--password-stdin", stdin="s3cret pass\n")
    assert refused.returncode == 1 and "not a Slack member id" in refused.stderr
    assert "added" not in refused.stderr  # nothing was created
    unknown = run(tmp_path, "link-slack", "nobody", "U0NOBODY1")
    assert unknown.returncode == 1 and "no staff account 'nobody'" in unknown.stderr

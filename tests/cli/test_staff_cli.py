"""`switchboard staff add` as an operator runs it: a real process and the database it writes."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from agent.staff.accounts import StaffAccounts
from agent.contracts import StaffRole
from agent.store import AccountStore, Database
from tests.cli.test_cli import env_for

SWITCHBOARD = [sys.executable, "-m", "agent.cli"]


def staff_add(tmp_path: Path, *args: str, stdin: str) -> subprocess.CompletedProcess[str]:
    return staff(tmp_path, "add", *args, stdin=stdin)


def staff(tmp_path: Path, command: str, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    # A new session has no controlling terminal, so the password prompt reads stdin.
    return subprocess.run(
        [*SWITCHBOARD, "staff", command, *args],
        input=stdin,
        env=env_for(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
        start_new_session=True,
    )


async def login(tmp_path: Path, username: str, password: str) -> StaffRole | None:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'data' / 'switchboard.db'}")
    try:
        opened = await StaffAccounts(AccountStore(database), timedelta(hours=1)).login(username, password)
        return opened.session.staff.role if opened else None
    finally:
        await database.dispose()


async def test_staff_add_reads_the_password_from_stdin(tmp_path: Path) -> None:
    result = staff_add(tmp_path, "alice", "--name", "Alice Ng", "--admin", "--password-stdin", stdin="s3cret pass\n")
    assert result.returncode == 0, result.stderr
    assert "added admin alice (Alice Ng)" in result.stderr
    assert await login(tmp_path, "alice", "s3cret pass") is StaffRole.ADMIN
    assert await login(tmp_path, "alice", "s3cret pass\n") is None

    again = staff_add(tmp_path, "alice", "--name", "Alice", "--password-stdin", stdin="another pass\n")
    assert again.returncode == 1 and "exists already" in again.stderr


async def test_staff_add_prompts_twice_until_the_entries_match(tmp_path: Path) -> None:
    result = staff_add(tmp_path, "bob", "--name", "Bob Ray", stdin="first try 1\nfirst try 2\ngood password\ngood password\n")
    assert result.returncode == 0, result.stderr
    assert "do not match" in result.stderr + result.stdout
    assert await login(tmp_path, "bob", "good password") is StaffRole.STAFF


def test_staff_add_refuses_a_short_password(tmp_path: Path) -> None:
    result = staff_add(tmp_path, "carol", "--name", "Carol", "--password-stdin", stdin="short\n")
    assert result.returncode == 1 and "at least 8 characters" in result.stderr


async def test_staff_passwd_changes_the_password_and_ends_open_sign_ins(tmp_path: Path) -> None:
    assert staff_add(tmp_path, "dana", "--name", "Dana Fox", "--password-stdin", stdin="old password\n").returncode == 0
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'data' / 'switchboard.db'}")
    accounts = StaffAccounts(AccountStore(database), timedelta(hours=1))
    try:
        opened = await accounts.login("dana", "old password")
        assert opened is not None and await accounts.session(opened.token) is not None

        result = staff(tmp_path, "passwd", "dana", "--password-stdin", stdin="new password\n")
        assert result.returncode == 0, result.stderr
        assert await accounts.session(opened.token) is None  # signed out everywhere
    finally:
        await database.dispose()
    assert await login(tmp_path, "dana", "old password") is None
    assert await login(tmp_path, "dana", "new password") is StaffRole.STAFF

    missing = staff(tmp_path, "passwd", "nobody", "--password-stdin", stdin="new password\n")
    assert missing.returncode == 1 and "no staff account 'nobody'" in missing.stderr
    short = staff(tmp_path, "passwd", "dana", "--password-stdin", stdin="short\n")
    assert short.returncode == 1 and "at least 8 characters" in short.stderr


def test_staff_list_shows_every_account(tmp_path: Path) -> None:
    assert staff_add(tmp_path, "erin", "--name", "Erin Wu", "--admin", "--password-stdin", stdin="pass word 1\n").returncode == 0
    assert staff_add(tmp_path, "abe", "--name", "Abe Lin", "--password-stdin", stdin="pass word 2\n").returncode == 0
    result = staff(tmp_path, "list")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["abe\tstaff\tAbe Lin", "erin\tadmin\tErin Wu"]

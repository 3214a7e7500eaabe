"""`switchboard staff`: staff accounts for the console."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import click

from agent.accounts import AccountError, StaffAccounts
from agent.contracts import StaffRole
from agent.settings import ConfigError, Settings, load_settings
from agent.store import Database, UsernameTaken
from agent.store.migrate import upgrade

T = TypeVar("T")


@click.group("staff")
def staff_group() -> None:
    """Staff accounts for the staff console at /staff."""


@staff_group.command("add")
@click.argument("username")
@click.option("--name", "display_name", required=True, help="The name customers see on replies.")
@click.option("--admin", is_flag=True, help="Make an admin rather than a staff member.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input instead of prompting.")
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path), envvar="SWITCHBOARD_CONFIG")
def staff_add(username: str, display_name: str, admin: bool, password_stdin: bool, config_path: Path | None) -> None:
    """Add a staff account; the password is prompted for twice, or read from stdin."""
    settings = _settings(config_path)
    password = _read_password(password_stdin)
    role = StaffRole.ADMIN if admin else StaffRole.STAFF
    try:
        member = _run(settings, lambda accounts: accounts.add(username, display_name, password, role))
    except UsernameTaken:
        raise click.ClickException(f"a staff account {username!r} exists already") from None
    click.echo(f"added {member.role.value} {member.username} ({member.display_name})", err=True)


@staff_group.command("passwd")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="Read the new password from standard input instead of prompting.")
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path), envvar="SWITCHBOARD_CONFIG")
def staff_passwd(username: str, password_stdin: bool, config_path: Path | None) -> None:
    """Set a new password; that person is signed out everywhere."""
    settings = _settings(config_path)
    password = _read_password(password_stdin)
    member = _run(settings, lambda accounts: accounts.set_password(username, password))
    click.echo(f"changed the password of {member.username}; their open sign-ins are ended", err=True)


@staff_group.command("list")
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path), envvar="SWITCHBOARD_CONFIG")
def staff_list(config_path: Path | None) -> None:
    """The staff accounts: username, role and display name."""
    members = _run(_settings(config_path), lambda accounts: accounts.members())
    for member in members:
        click.echo(f"{member.username}\t{member.role.value}\t{member.display_name}")


def _settings(config_path: Path | None) -> Settings:
    try:
        return load_settings(config_path)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return str(click.prompt("Password", hide_input=True, confirmation_prompt=True))


def _run(settings: Settings, action: Callable[[StaffAccounts], Awaitable[T]]) -> T:
    """Run one account action on the configured database (made current first when embedded)."""
    from agent.server import build_accounts

    if settings.is_embedded_database:
        upgrade(settings.database_url)

    async def run() -> T:
        database = Database(settings.database_url)
        try:
            return await action(build_accounts(settings, database))
        finally:
            await database.dispose()

    try:
        return asyncio.run(run())
    except AccountError as exc:
        raise click.ClickException(str(exc)) from exc

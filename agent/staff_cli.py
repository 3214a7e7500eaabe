"""`switchboard staff`: staff accounts for the console."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import click

from agent.accounts import AccountError
from agent.contracts import StaffMember, StaffRole
from agent.settings import ConfigError, Settings, load_settings
from agent.store import Database, UsernameTaken
from agent.store.migrate import upgrade


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
    try:
        settings = load_settings(config_path)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    if settings.is_embedded_database:
        upgrade(settings.database_url)
    role = StaffRole.ADMIN if admin else StaffRole.STAFF
    try:
        member = asyncio.run(_add(settings, username, display_name, password, role))
    except UsernameTaken:
        raise click.ClickException(f"a staff account {username!r} exists already") from None
    except AccountError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"added {member.role.value} {member.username} ({member.display_name})", err=True)


async def _add(settings: Settings, username: str, display_name: str, password: str, role: StaffRole) -> StaffMember:
    from agent.server import build_accounts

    database = Database(settings.database_url)
    try:
        return await build_accounts(settings, database).add(username, display_name, password, role)
    finally:
        await database.dispose()

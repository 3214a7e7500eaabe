"""`switchboard staff`: staff accounts for the console."""

from __future__ import annotations

import re
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import click

from agent.cli.common import load_config, on_database
from agent.contracts import StaffRole

# The accounts bring argon2 and the store SQLAlchemy: each command imports what it runs on,
# asyncio too, so `switchboard --help` loads none of it.
if TYPE_CHECKING:
    from agent.settings import Settings
    from agent.staff.accounts import StaffAccounts
    from agent.store import Database

SLACK_MEMBER_ID = re.compile(r"[UW][A-Z0-9]{2,31}")

T = TypeVar("T")


@click.group("staff")
def staff_group() -> None:
    """Staff accounts for the staff console at /staff."""


@staff_group.command("add")
@click.argument("username")
@click.option("--name", "display_name", required=True, help="The name customers see on replies.")
@click.option("--admin", is_flag=True, help="Make an admin rather than a staff member.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input instead of prompting.")
@click.option("--slack-user", "slack_user", default=None, help="Their Slack member id (U…): they act as this account in Slack.")
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path), envvar="SWITCHBOARD_CONFIG")
def staff_add(
    username: str, display_name: str, admin: bool, password_stdin: bool, config_path: Path | None, slack_user: str | None = None
) -> None:
    """Add a staff account; the password is prompted for twice, or read from stdin."""
    from agent.store import UsernameTaken

    settings = load_config(config_path)
    if slack_user:
        _check_slack_member(slack_user)
    password = _read_password(password_stdin)
    role = StaffRole.ADMIN if admin else StaffRole.STAFF
    try:
        member = _run(settings, lambda accounts: accounts.add(username, display_name, password, role))
    except UsernameTaken:
        raise click.ClickException(f"a staff account {username!r} exists already") from None
    click.echo(f"added {member.role.value} {member.username} ({member.display_name})", err=True)
    if slack_user:
        _link_slack_user(settings, member.username, slack_user)


@staff_group.command("link-slack")
@click.argument("username")
@click.argument("slack_user")
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path), envvar="SWITCHBOARD_CONFIG")
def staff_link_slack(username: str, slack_user: str, config_path: Path | None) -> None:
    """Let the Slack member SLACK_USER (U…) act as the staff account USERNAME in Slack."""
    _link_slack_user(load_config(config_path), username.strip().lower(), slack_user)


def _check_slack_member(slack_user: str) -> str:
    slack_user = slack_user.strip().upper()
    if not SLACK_MEMBER_ID.fullmatch(slack_user):
        raise click.ClickException(f"{slack_user!r} is not a Slack member id (U… or W…, from the member's profile)")
    return slack_user


def _link_slack_user(settings: Settings, username: str, slack_user: str) -> None:
    from agent.store.slack import SlackStore, UnknownStaff

    slack_user = _check_slack_member(slack_user)
    try:
        member = _on_database(settings, lambda database: SlackStore(database).link_staff(username, slack_user))
    except UnknownStaff:
        raise click.ClickException(f"no staff account {username!r}") from None
    click.echo(f"linked Slack member {slack_user} to {member.username} ({member.display_name})", err=True)


@staff_group.command("passwd")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="Read the new password from standard input instead of prompting.")
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path), envvar="SWITCHBOARD_CONFIG")
def staff_passwd(username: str, password_stdin: bool, config_path: Path | None) -> None:
    """Set a new password; that person is signed out everywhere."""
    settings = load_config(config_path)
    password = _read_password(password_stdin)
    member = _run(settings, lambda accounts: accounts.set_password(username, password))
    click.echo(f"changed the password of {member.username}; their open sign-ins are ended", err=True)


@staff_group.command("list")
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path), envvar="SWITCHBOARD_CONFIG")
def staff_list(config_path: Path | None) -> None:
    """The staff accounts: username, role and display name."""
    members = _run(load_config(config_path), lambda accounts: accounts.members())
    for member in members:
        click.echo(f"{member.username}\t{member.role.value}\t{member.display_name}")


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return str(click.prompt("Password", hide_input=True, confirmation_prompt=True))


def _run(settings: Settings, action: Callable[[StaffAccounts], Awaitable[T]]) -> T:
    """Run one account action on the configured database."""
    from agent.app.staff import build_accounts

    return _on_database(settings, lambda database: action(build_accounts(settings, database)))


def _on_database(settings: Settings, action: Callable[[Database], Awaitable[T]]) -> T:
    from agent.staff.accounts import AccountError

    try:
        return on_database(settings, action)
    except AccountError as exc:
        raise click.ClickException(str(exc)) from exc

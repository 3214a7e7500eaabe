"""`switchboard staff`: staff accounts for the console."""

from __future__ import annotations

import asyncio
import re
import sys
from pathlib import Path

import click

from agent.accounts import AccountError
from agent.contracts import StaffMember, StaffRole
from agent.settings import ConfigError, Settings, load_settings
from agent.store import Database, UsernameTaken
from agent.store.migrate import upgrade
from agent.store.slack import SlackStore, UnknownStaff

SLACK_MEMBER_ID = re.compile(r"[UW][A-Z0-9]{2,31}")


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
    try:
        settings = load_settings(config_path)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    if slack_user and not SLACK_MEMBER_ID.fullmatch(slack_user.strip().upper()):
        raise click.ClickException(f"{slack_user!r} is not a Slack member id (U… or W…, from the member's profile)")
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
    if slack_user:
        _link_slack_user(settings, member.username, slack_user)


@staff_group.command("link-slack")
@click.argument("username")
@click.argument("slack_user")
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path), envvar="SWITCHBOARD_CONFIG")
def staff_link_slack(username: str, slack_user: str, config_path: Path | None) -> None:
    """Let the Slack member SLACK_USER (U…) act as the staff account USERNAME in Slack."""
    try:
        settings = load_settings(config_path)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    if settings.is_embedded_database:
        upgrade(settings.database_url)
    _link_slack_user(settings, username.strip().lower(), slack_user)


def _link_slack_user(settings: Settings, username: str, slack_user: str) -> None:
    slack_user = slack_user.strip().upper()
    if not SLACK_MEMBER_ID.fullmatch(slack_user):
        raise click.ClickException(f"{slack_user!r} is not a Slack member id (U… or W…, from the member's profile)")
    try:
        member = asyncio.run(_link(settings, username, slack_user))
    except UnknownStaff:
        raise click.ClickException(f"no staff account {username!r}") from None
    click.echo(f"linked Slack member {slack_user} to {member.username} ({member.display_name})", err=True)


async def _link(settings: Settings, username: str, slack_user: str) -> StaffMember:
    database = Database(settings.database_url)
    try:
        return await SlackStore(database).link_staff(username, slack_user)
    finally:
        await database.dispose()


async def _add(settings: Settings, username: str, display_name: str, password: str, role: StaffRole) -> StaffMember:
    from agent.server import build_accounts

    database = Database(settings.database_url)
    try:
        return await build_accounts(settings, database).add(username, display_name, password, role)
    finally:
        await database.dispose()

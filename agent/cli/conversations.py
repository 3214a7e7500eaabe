"""`switchboard test conversations`: scripted conversations through the real manager, checked turn by turn."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from agent.cli.common import config_option

# The runner builds the whole manager: the command imports it when it runs.
if TYPE_CHECKING:
    from agent.evaluation.conversations import ConversationResult, SuiteResult


class BadSuite(click.ClickException):
    """A file that is not a conversation test file, or does not fit the configuration: exit 2, like a usage error."""

    exit_code = 2


@click.group("test")
def test_group() -> None:
    """Test the bot as configured: scripted conversations, each turn checked."""


@test_group.command("conversations")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@config_option
@click.option("--json", "as_json", is_flag=True, help="End with one JSON object: every conversation's runs and the totals.")
@click.option("--repeat", default=1, show_default=True, type=click.IntRange(1, 100), help="Run each conversation K times: pass^k beside pass@1.")
@click.option("--only", "names", multiple=True, metavar="NAME", help="Run only the conversation called NAME (repeatable).")
def conversations_command(file: Path, config_path: Path | None, as_json: bool, repeat: int, names: tuple[str, ...]) -> None:
    """Run the conversations of FILE, each on a fresh database and demo store, with the configured models.

    Exit 0 when every conversation passed every run (xfail ones are reported, not counted),
    1 when one failed, 2 when FILE is not a conversation test file."""
    import asyncio

    from agent.evaluation.conversations import plan, run_suite
    from agent.evaluation.suite import SuiteError, load_suite
    from agent.logs import configure_logging

    configure_logging("error", "console")  # the table is the output; a turn's warnings are in its result
    try:
        suite = load_suite(file)
        planned = plan(suite.only(names) if names else suite, config_path)
    except SuiteError as exc:
        raise BadSuite(str(exc)) from exc
    runs = len(planned.conversations) * repeat
    with click.progressbar(length=runs, label="conversations", file=click.get_text_stream("stderr")) as bar:
        result = asyncio.run(run_suite(planned, repeat, on_run=lambda _conversation, _run: bar.update(1)))
    _print_table(result)
    _print_failures(result)
    _print_totals(result)
    if as_json:
        click.echo(json.dumps(result.to_json()))
    if result.failed:
        raise SystemExit(1)


def _print_table(result: SuiteResult) -> None:
    width = max([len("conversation")] + [len(r.conversation.name) for r in result.results])
    click.echo(f"{'conversation':{width}}  {'runs':>5}  {'result':6}  {'time':>7}")
    for entry in result.results:
        seconds = sum(run.seconds for run in entry.runs) / len(entry.runs)
        passed = f"{entry.passes}/{len(entry.runs)}"
        click.echo(f"{entry.conversation.name:{width}}  {passed:>5}  {_styled(entry.status):6}  {seconds:6.2f}s")


def _styled(status: str) -> str:
    colour = {"pass": "green", "fail": "red", "xfail": "yellow", "xpass": "yellow"}[status]
    return click.style(f"{status:6}", fg=colour)


def _print_failures(result: SuiteResult) -> None:
    for entry in result.results:
        if entry.status == "pass":
            continue
        if entry.status == "xfail":
            click.echo(f"\nxfail {entry.conversation.name}: {entry.conversation.xfail}")
        elif entry.status == "xpass":
            click.echo(f"\nxpass {entry.conversation.name}: passed every run, though marked xfail ({entry.conversation.xfail})")
            continue
        _print_runs(entry)


def _print_runs(entry: ConversationResult) -> None:
    name = entry.conversation.name
    for number, run in enumerate(entry.runs, 1):
        if run.passed:
            continue
        which = f" (run {number} of {len(entry.runs)})" if len(entry.runs) > 1 else ""
        label = "  " if entry.status == "xfail" else "\n" + click.style("FAIL", fg="red", bold=True) + " "
        click.echo(f"{label}{name}{which}")
        for turn in run.turns:
            for mismatch in turn.mismatches:
                click.echo(f"    turn {turn.number} ({turn.turn.customer!r}): {mismatch.describe()}")
            if turn.mismatches:
                click.echo(click.style(f"      the bot said: {turn.observed.text!r}", dim=True))
        if run.error is not None:
            click.echo(f"    error: {run.error}")


def _print_totals(result: SuiteResult) -> None:
    n = len(result.results)
    parts = [f"{n} conversation{'' if n == 1 else 's'}", f"{result.count('pass')} passed", f"{result.count('fail')} failed"]
    for status in ("xfail", "xpass"):
        if result.count(status):
            parts.append(f"{result.count(status)} {status}")
    rates = []
    if result.pass_at_1 is not None and result.pass_hat_k is not None:
        rates = [f"pass@1 {result.pass_at_1:.1%}", f"pass^{result.repeat} {result.pass_hat_k:.1%}"]
    click.echo("\n" + ", ".join(parts) + "".join(f" · {rate}" for rate in rates) + f" · {result.seconds:.1f}s")

"""`switchboard router`: train, explain and evaluate the intent router."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Iterator
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import click

from agent.cli.common import config_option, load_config
# The routing package brings numpy and scikit-learn: each command imports what it runs on, so
# `switchboard --help` loads none of it.
if TYPE_CHECKING:
    from agent.routing import Router
    from agent.routing.evaluation.evaluate import Classifier, Report
    from agent.settings import Settings

T = TypeVar("T")

# linear is the default router, semantic the optional one (the `semantic` extra trains it); the
# centroid one is kept as the baseline to compare with.
CLASSIFIER_NAMES = ("centroid", "linear", "semantic")


def _classifier(name: str) -> Callable[[], Classifier]:
    """The classifier called `name` (one of CLASSIFIER_NAMES), untrained."""
    from agent.routing.classifier import CentroidClassifier
    from agent.routing.linear import LinearIntentClassifier
    from agent.routing.semantic import SemanticIntentClassifier

    classifiers: dict[str, Callable[[], Classifier]] = {
        "linear": LinearIntentClassifier,
        "semantic": SemanticIntentClassifier,
        "centroid": CentroidClassifier,
    }
    return classifiers[name]


def _router(settings: Settings, retrain: bool = False) -> Router:
    from agent.app.manager import build_router

    return build_router(settings, retrain)


@click.group("router")
def router_group() -> None:
    """Train, explain and evaluate the intent router."""


@router_group.command()
@config_option
def train(config_path: Path | None) -> None:
    """Train the classifier on the configured intents and cache it for fast start-up."""
    from agent.routing.cache import cache_path
    from agent.routing.semantic import SemanticIntentClassifier

    settings = load_config(config_path)
    started = time.perf_counter()
    router = _router(settings, retrain=True)
    seconds = time.perf_counter() - started
    kind = "semantic" if isinstance(router.classifier, SemanticIntentClassifier) else "linear"
    if kind != settings.routing.classifier:
        click.echo(
            f"routing.classifier is {settings.routing.classifier}, but its extra is not installed "
            "(pip install 'switchboard[semantic]'): trained the linear classifier instead",
            err=True,
        )
    examples = sum(len(spec.examples) for spec in router.catalog.intents.values())
    saved = cache_path(settings.data_dir / "cache", settings.resolve(settings.routing.intents_file), kind)
    click.echo(f"trained the {kind} classifier on {examples} examples of {len(router.catalog.intents)} intents in {seconds:.2f}s; saved {saved}")


@router_group.command()
@config_option
@click.argument("text")
@click.option("--route", "current_route", default=None, help="The conversation's current route, for context.")
@click.option("--top", default=5, show_default=True)
def explain(config_path: Path | None, text: str, current_route: str | None, top: int) -> None:
    """Show how TEXT would be routed: the deciding tier, and the best intents with scores."""
    router = _router(load_config(config_path))
    intent = router.classify(text, current_route)
    click.echo(f"route {intent.route}  intent {intent.name}  tier {intent.tier}  confidence {intent.confidence:.3f}  ({intent.elapsed_ms:.3f} ms)")
    click.echo(f"threshold {router.threshold}" + (f", follow-up threshold {router.follow_up_threshold}" if current_route else ""))
    for scored in router.classifier.scores(text)[:top]:
        click.echo(f"  {scored.score:6.3f}  {scored.intent}  ({router.catalog.route_of(scored.intent)})")


def _progress(items: Iterable[T], label: str) -> Iterator[T]:
    materialized = list(items)
    with click.progressbar(materialized, label=label, file=click.get_text_stream("stderr")) as bar:
        yield from bar


@router_group.command("eval")
@config_option
@click.option("--data", "data_path", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="End with one JSON object of the results.")
@click.option(
    "--max-accuracy-drop", type=click.FloatRange(0, 1), default=None,
    help="Tune the out-of-scope threshold to cost at most this much in-scope accuracy on val "
    "(e.g. 0.01), instead of answering the most val rows right.",
)
@click.option("--classifier", "name", type=click.Choice(CLASSIFIER_NAMES), default="linear", show_default=True)
def eval_command(
    config_path: Path | None, data_path: Path, as_json: bool, max_accuracy_drop: float | None, name: str
) -> None:
    """Train on the train split, tune the threshold on val, report on test."""
    from agent.routing.evaluation.datasets import DatasetError, read_examples
    from agent.routing.evaluation.evaluate import evaluate
    from agent.routing.semantic import SemanticIntentClassifier
    from agent.routing.training.distill import SemanticUnavailable

    try:
        examples = read_examples(data_path)
    except DatasetError as exc:
        raise click.ClickException(str(exc)) from exc
    make = _classifier(name)
    if name == "semantic":  # the transformer's token vectors are kept with the router's cache
        cache_dir = load_config(config_path).data_dir / "cache"
        make = partial(SemanticIntentClassifier, cache_dir=cache_dir)
    try:
        report = evaluate(examples, make, name, max_accuracy_drop, progress=_progress)
    except SemanticUnavailable as exc:
        raise click.ClickException(str(exc)) from exc
    _print_report(report)
    if as_json:
        click.echo(json.dumps(report.to_json()))


def _print_report(report: Report) -> None:
    oos = "n/a (no oos rows)" if report.oos_recall is None else f"{report.oos_recall:.1%}"
    trained = f"{report.train_examples} train + {report.out_of_scope_train_examples} out-of-scope train"
    click.echo(f"classifier        {report.classifier}  ({trained}, {report.test_examples} test)")
    click.echo(f"in-scope accuracy {report.accuracy:.1%}  (without threshold {report.unthresholded_accuracy:.1%})")
    click.echo(f"macro-F1          {report.macro_f1:.3f}")
    key = "routing.semantic_threshold" if report.classifier == "semantic" else "routing.confidence_threshold"
    click.echo(f"oos recall        {oos}  (threshold {report.threshold:.4f}, tuned on val: use it as {key})")
    click.echo(f"training          {report.train_s:.2f} s")
    click.echo(f"decision latency  p50 {report.p50_ms:.3f} ms, p99 {report.p99_ms:.3f} ms")
    if report.per_route:
        click.echo("per route (precision / recall / support):")
        for route, score in report.per_route.items():
            click.echo(f"  {route:20} {score.precision:6.1%} {score.recall:6.1%} {score.support:6d}")
    if report.confusions:
        click.echo("worst confusions (intent -> predicted: count):")
        for gold, predicted, count in report.confusions:
            click.echo(f"  {gold} -> {predicted}: {count}")


@router_group.command("clinc150")
@click.argument("data_full", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--out", "-o", "out_path", required=True, type=click.Path(dir_okay=False, path_type=Path))
def convert_clinc150(data_full: Path, out_path: Path) -> None:
    """Convert CLINC150's data_full.json (domains.json beside it names the routes) to JSONL."""
    from agent.routing.evaluation.datasets import clinc150_examples, write_examples

    try:  # all of it read before the output is touched: a bad input leaves no empty file behind
        examples = list(clinc150_examples(data_full, data_full.parent / "domains.json"))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise click.ClickException(f"cannot read CLINC150 from {data_full}: {exc}") from exc
    try:
        out_path.parent.mkdir(parents=True, exist_ok=True)
        count = write_examples(examples, out_path)
    except OSError as exc:
        raise click.ClickException(f"cannot write {out_path}: {exc.strerror or exc}") from exc
    click.echo(f"wrote {count} examples to {out_path}")

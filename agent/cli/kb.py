"""`switchboard kb`: ingest, list, remove, search, explain and evaluate the knowledge base."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from agent.cli.common import config_option, load_config, on_database

# The store brings SQLAlchemy: each command imports what it runs on.
if TYPE_CHECKING:
    from agent.contracts import Passage
    from agent.knowledge.embeddings import Encoder
    from agent.knowledge.evaluate import RetrievalReport
    from agent.knowledge.search import KnowledgeSearch
    from agent.settings import Settings
    from agent.store import Database
    from agent.store.knowledge import KnowledgeStore

T = TypeVar("T")


@click.group("kb")
def kb_group() -> None:
    """The knowledge base: the business's documents every model answers from."""


def _store(database: Database) -> KnowledgeStore:
    from agent.store.knowledge import KnowledgeStore

    return KnowledgeStore(database)


def _encoder(settings: Settings) -> Encoder | None:
    """The encoder when `knowledge.semantic` is on; without the extra, a note and words alone."""
    if not settings.knowledge.semantic:
        return None
    from agent.knowledge.embeddings import SemanticUnavailable, load_encoder

    try:
        return load_encoder()
    except SemanticUnavailable as exc:
        click.echo(f"{exc}: searching by words alone", err=True)
        return None


def _search(settings: Settings, database: Database, encoder: Encoder | None) -> KnowledgeSearch:
    from agent.app.knowledge import build_knowledge_search

    return build_knowledge_search(settings, database, encoder)


@kb_group.command("ingest")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--collection", default="default", show_default=True, help="The collection the documents go into.")
@click.option("--prune", is_flag=True, help="Remove the collection's documents that are no longer found under PATHS.")
@config_option
def ingest_command(paths: tuple[Path, ...], collection: str, prune: bool, config_path: Path | None) -> None:
    """Ingest Markdown, HTML, text and FAQ (CSV, JSONL) files; folders are walked. Only what changed is written.

    With `knowledge.semantic` on, the chunks also get their vectors for searching by meaning."""
    from agent.knowledge.ingest import ingest

    settings = load_config(config_path)
    encoder = _encoder(settings)
    label = click.style("ingesting", dim=True)

    def progress(source: str) -> None:
        click.echo(f"{label} {source}", err=True)

    report = on_database(
        settings, lambda database: ingest(_store(database), list(paths), collection, prune, progress, encoder=encoder)
    )
    for path, reason in report.skipped:
        click.echo(f"skipped {path}: {reason}", err=True)
    click.echo(report.summary())


@kb_group.command("list")
@click.option("--collection", default=None, help="List this collection's documents.")
@config_option
def list_command(collection: str | None, config_path: Path | None) -> None:
    """Collections (documents, chunks, last ingest), or one collection's documents."""

    async def read(database: Database) -> list[str]:
        store = _store(database)
        if collection is not None:
            return [
                f"{d.source}\t{d.chunks} chunks\t{d.title}\t{d.ingested_at:%Y-%m-%d %H:%M}" for d in await store.documents(collection)
            ]
        return [f"{c.name}\t{c.documents} documents\t{c.chunks} chunks\tlast ingest {c.last_ingest:%Y-%m-%d %H:%M:%S}" for c in await store.collections()]

    lines = on_database(load_config(config_path), read)
    if not lines:
        click.echo("the knowledge base is empty: add documents with `switchboard kb ingest PATH`", err=True)
    for line in lines:
        click.echo(line)


@kb_group.command("remove")
@click.argument("collection")
@click.argument("sources", nargs=-1)
@config_option
def remove_command(collection: str, sources: tuple[str, ...], config_path: Path | None) -> None:
    """Remove a collection, or only the documents SOURCES of it (as `kb list --collection` names them)."""
    removed = on_database(load_config(config_path), lambda database: _store(database).remove(collection, list(sources) or None))
    click.echo(f"removed {removed} document{'s' if removed != 1 else ''} from {collection}")


def _passage_json(passage: Passage) -> dict[str, Any]:
    return {
        "id": passage.id, "collection": passage.collection, "title": passage.title, "section": passage.heading,
        "source": passage.source, "url": passage.url, "score": round(passage.score, 3), "text": passage.text,
    }  # fmt: skip


def _print_passages(passages: list[Passage]) -> None:
    for rank, passage in enumerate(passages, 1):
        where = passage.title + (f" › {passage.heading}" if passage.section else "")
        click.echo(f"{rank}. {passage.score:6.2f}  {where}  [{passage.collection}/{passage.source}]")
        click.echo("   " + passage.text.replace("\n", " ")[:200])


@kb_group.command("search")
@click.argument("query")
@click.option("--k", default=5, show_default=True, type=click.IntRange(1, 50))
@click.option("--collection", "collections", multiple=True, help="Search only this collection (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print the passages as JSON.")
@config_option
def search_command(query: str, k: int, collections: tuple[str, ...], as_json: bool, config_path: Path | None) -> None:
    """Ranked chunks for QUERY: score, title, section and source (no relevance floor).

    The score is BM25, or with `knowledge.semantic` the fused rank (1.0: first by words and by meaning)."""
    from agent.contracts import KnowledgeQuery

    settings = load_config(config_path)
    encoder = _encoder(settings)

    async def search(database: Database) -> tuple[int, list[Passage]]:
        stats = await _store(database).stats()
        return stats.chunks, await _search(settings, database, encoder).search(KnowledgeQuery(query, collections, k))

    chunks, passages = on_database(settings, search)
    if chunks == 0:
        click.echo("the knowledge base is empty: add documents with `switchboard kb ingest PATH`", err=True)
    elif not passages:
        click.echo("nothing matched", err=True)
    if as_json:
        click.echo(json.dumps([_passage_json(p) for p in passages]))
    else:
        _print_passages(passages)


@kb_group.command("explain")
@click.argument("message")
@config_option
def explain_command(message: str, config_path: Path | None) -> None:
    """What a turn would retrieve for MESSAGE: its route, that route's retrieval, the passages that pass."""
    from dataclasses import replace

    from agent.app.knowledge import retrieval_by_route
    from agent.app.manager import build_router
    from agent.conversation import TurnSettings

    settings = load_config(config_path)
    encoder = _encoder(settings)
    intent = build_router(settings).classify(message, None)
    policy = TurnSettings(retrieval=retrieval_by_route(settings)).retrieval_for(intent.route)
    click.echo(f"route {intent.route} (intent {intent.name}, {intent.confidence:.2f})")
    collections = ", ".join(policy.collections) or "every collection"
    similarity = f", min_similarity={settings.knowledge.min_similarity} (hybrid)" if encoder is not None else ""
    click.echo(
        f"retrieval: {collections}, k={policy.k}, min_score={policy.min_score}, min_coverage={policy.min_coverage}, "
        f"min_words={policy.min_words}{similarity}"
    )
    query = replace(policy, text=message)
    passages = on_database(settings, lambda database: _search(settings, database, encoder).search(query))
    if not passages:
        click.echo("no passage passes: the models are told there is no reference")
    _print_passages(passages)


def _progress(items: Iterable[T], label: str) -> Iterator[T]:
    materialized = list(items)
    with click.progressbar(materialized, label=label, file=click.get_text_stream("stderr")) as bar:
        yield from bar


@kb_group.command("eval")
@click.option("--data", "data_path", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--no-answer", "no_answer_path", default=None, type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Questions the knowledge base should not answer ({\"query\"} lines): how often nothing is retrieved.",
)
@click.option("--json", "as_json", is_flag=True, help="End with one JSON object of the results.")
@config_option
def eval_command(data_path: Path, no_answer_path: Path | None, as_json: bool, config_path: Path | None) -> None:
    """Recall@1, recall@5, MRR and search latency on labelled questions, with the configured thresholds
    (and search mode: hybrid with `knowledge.semantic`)."""
    from agent.app.knowledge import retrieval_by_route
    from agent.knowledge.embeddings import on_encoder_thread
    from agent.knowledge.evaluate import EvalDataError, evaluate, read_labelled

    try:
        rows = read_labelled(data_path)
        no_answer = read_labelled(no_answer_path, require_label=False) if no_answer_path else []
    except EvalDataError as exc:
        raise click.ClickException(str(exc)) from exc
    settings = load_config(config_path)
    encoder = _encoder(settings)
    base = retrieval_by_route(settings)["*"]

    async def run(database: Database) -> tuple[str, RetrievalReport]:
        search = _search(settings, database, encoder)
        if encoder is not None:  # the model's loading is not a search's latency
            await on_encoder_thread(encoder.encode, ["warm-up"])
        return search.mode, await evaluate(search, rows, base, no_answer, _progress)

    mode, report = on_database(settings, run)
    click.echo(f"search       {mode}")
    click.echo(f"questions    {report.questions}")
    click.echo(f"recall@1     {report.recall_at_1:.1%}")
    click.echo(f"recall@5     {report.recall_at_5:.1%}")
    click.echo(f"MRR          {report.mrr:.3f}")
    if report.abstained is not None:
        click.echo(f"no answer    {report.abstained:.1%} of {report.no_answer_questions} off-topic questions found nothing")
    click.echo(f"latency      p50 {report.p50_ms:.2f} ms, p99 {report.p99_ms:.2f} ms")
    if as_json:
        click.echo(json.dumps({"mode": mode, **report.to_json()}))

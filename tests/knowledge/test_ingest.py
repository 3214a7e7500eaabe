"""Ingesting folders into the real database: only what changed is written, what cannot be read
is reported by name and the rest go in, and documents gone from a folder are pruned."""

from __future__ import annotations

from pathlib import Path

from agent.contracts import KnowledgeQuery
from agent.knowledge.ingest import ingest
from agent.knowledge.search import KnowledgeSearch
from agent.store import Database
from agent.store.knowledge import KnowledgeStore

RETURNS = "---\ntitle: Returns\n---\n# Returns\n\n## How long\nUnused items can be returned within 30 days.\n"
SHIPPING = "# Shipping\n\n## Costs\nStandard shipping is free over $75.\n\n## Express\nExpress costs $14.95.\n"


def folder(tmp_path: Path) -> Path:
    root = tmp_path / "help"
    (root / "policies").mkdir(parents=True)
    (root / "policies" / "returns.md").write_text(RETURNS)
    (root / "shipping.md").write_text(SHIPPING)
    (root / "faq.csv").write_text("question,answer\nDo you sell gift cards?,Yes: $25 to $500.\n")
    (root / "empty.md").write_text("   \n")
    (root / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    (root / "broken.md").write_bytes(b"# Caf\xe9\n\nLatin-1, not UTF-8.\n")
    return root


async def test_a_folder_goes_in_and_the_unreadable_files_are_named_with_why(database: Database, tmp_path: Path) -> None:
    store = KnowledgeStore(database)
    report = await ingest(store, [folder(tmp_path)], "help")
    assert sorted(report.added) == ["faq.csv", "policies/returns.md", "shipping.md"]
    skipped = {Path(path).name: reason for path, reason in report.skipped}
    assert skipped == {"empty.md": "empty file", "logo.png": "unsupported file type .png", "broken.md": "not UTF-8 text"}
    assert report.chunks == 4
    [passage] = await KnowledgeSearch(store).search(KnowledgeQuery("how much is express shipping", k=1))
    assert (passage.source, passage.section, passage.title) == ("shipping.md", ("Express",), "Shipping")


async def test_ingesting_again_writes_only_what_changed_and_prunes_what_is_gone(database: Database, tmp_path: Path) -> None:
    store = KnowledgeStore(database)
    root = folder(tmp_path)
    await ingest(store, [root], "help")
    again = await ingest(store, [root], "help", prune=True)
    assert (again.added, again.updated, again.removed) == ([], [], [])
    assert sorted(again.unchanged) == ["faq.csv", "policies/returns.md", "shipping.md"]

    (root / "shipping.md").write_text(SHIPPING.replace("$14.95", "$12.95"))
    (root / "faq.csv").unlink()
    kept = await ingest(store, [root], "help")  # without --prune nothing is removed
    assert (kept.updated, kept.removed) == (["shipping.md"], [])
    assert {d.source for d in await store.documents("help")} == {"faq.csv", "policies/returns.md", "shipping.md"}

    pruned = await ingest(store, [root], "help", prune=True)
    assert pruned.removed == ["faq.csv"]
    assert {d.source for d in await store.documents("help")} == {"policies/returns.md", "shipping.md"}
    [passage] = await KnowledgeSearch(store).search(KnowledgeQuery("express shipping cost", k=1))
    assert "$12.95" in passage.text


async def test_a_folder_that_is_not_there_prunes_nothing(database: Database, tmp_path: Path) -> None:
    store = KnowledgeStore(database)
    await ingest(store, [folder(tmp_path)], "help")
    report = await ingest(store, [tmp_path / "unmounted"], "help", prune=True)
    assert report.removed == [] and report.skipped == [(str(tmp_path / "unmounted"), "no such file or folder")]
    assert len(await store.documents("help")) == 3


async def test_two_files_with_one_name_keep_the_first(database: Database, tmp_path: Path) -> None:
    store = KnowledgeStore(database)
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "faq.md").write_text(f"# FAQ {name}\n\nFrom folder {name}.\n")
    report = await ingest(store, [tmp_path / "a", tmp_path / "b"], "help")
    assert report.added == ["faq.md"]
    assert report.skipped == [(str(tmp_path / "b" / "faq.md"), f"same name as {tmp_path / 'a' / 'faq.md'} in this collection")]
    second = await ingest(store, [tmp_path / "a", tmp_path / "b"], "help")
    assert second.unchanged == ["faq.md"] and second.updated == []

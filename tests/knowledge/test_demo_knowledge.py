"""The demo's own knowledge base, as it ships: held-out questions (written before the floors
were tuned, never tuned on) and the two everyday questions it used to get wrong."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp

from agent.app.knowledge import ingest_sources
from agent.app.knowledge import retrieval_by_route
from agent.knowledge.evaluate import evaluate, read_labelled
from agent.knowledge.search import KnowledgeSearch
from agent.store import Database
from agent.store.knowledge import KnowledgeStore
from agent.store.migrate import upgrade
from personas import load_persona
from tests.conftest import SettingsFactory
from tests.support.client import new_visitor
from tests.support.server import running_server

DATA = Path(__file__).resolve().parents[1] / "data"


async def test_the_held_out_questions_find_their_passage_and_off_topic_ones_find_nothing(make_settings: SettingsFactory) -> None:
    settings = make_settings()
    await asyncio.to_thread(upgrade, settings.database_url)
    database = Database(settings.database_url)
    try:
        store = KnowledgeStore(database)
        reports = await ingest_sources(settings, store)
        assert [r.skipped for r in reports] == [[], []]
        base = retrieval_by_route(settings)["*"]
        report = await evaluate(
            KnowledgeSearch(store), read_labelled(DATA / "knowledge_eval.jsonl"), base,
            read_labelled(DATA / "knowledge_no_answer.jsonl", require_label=False),
        )  # fmt: skip
    finally:
        await database.dispose()
    print(f"held out: recall@1 {report.recall_at_1:.3f} recall@5 {report.recall_at_5:.3f} MRR {report.mrr:.3f} "
          f"no answer {report.abstained:.3f}")  # fmt: skip
    # Measured 0.725 / 0.788 / MRR 0.754 / 0.733 with the shipped floors; a little under, so a change that loses ground fails.
    assert report.recall_at_1 >= 0.68 and report.recall_at_5 >= 0.74
    assert report.abstained is not None and report.abstained >= 0.66


async def test_a_broken_pole_gets_the_repair_answer_and_the_weather_an_honest_one(make_settings: SettingsFactory) -> None:
    settings = make_settings()
    async with running_server(settings) as (base_url, _app), aiohttp.ClientSession() as session:
        visitor = await new_visitor(session, base_url)
        pole = (await visitor.send("my tent pole snapped, can I get it replaced?"))["reply"]
        boots = (await visitor.send("how much are the ridgeline boots?"))["reply"]
        weather = (await visitor.send("what's the weather in Seattle?"))["reply"]
    assert "pole" in pole["text"].lower() and "rental" not in pole["text"].lower()
    assert [s["source"] for s in pole["sources"]] in (["repairs.md"], ["warranty.md"])
    assert "Ridgeline" in boots["text"]
    assert weather["text"] == load_persona(settings.persona).fallback and weather["sources"] == []

"""The router on the demo intents: rules, the trained classifier, and context."""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path

import pytest

from agent.routing import FOLLOW_UP, UNKNOWN, Router
from agent.app.manager import build_router
from agent.settings import load_settings

TEST_SET = Path(__file__).resolve().parents[1] / "data" / "demo_intents_test.jsonl"
# Off-topic messages a store hears, none of them among the intents file's `out_of_scope` examples.
OUT_OF_SCOPE_SET = Path(__file__).resolve().parents[1] / "data" / "demo_out_of_scope_test.jsonl"
# Measured on the held-out demo set (tests/data/demo_intents_test.jsonl) with the linear
# classifier and the shipped thresholds: 89.1% intent and 92.4% route accuracy. The floors sit
# a little below so that a change which makes routing worse fails here.
INTENT_FLOOR = 0.87
ROUTE_FLOOR = 0.90
# Of the held-out off-topic set, 18 of 24 fall to unknown (14 when trained without the
# out_of_scope examples).
OUT_OF_SCOPE_FLOOR = 16


@pytest.fixture(scope="module")
def router(tmp_path_factory: pytest.TempPathFactory) -> Router:
    return build_router(load_settings(data_dir=str(tmp_path_factory.mktemp("data"))))


def test_held_out_demo_set_meets_the_floor(router: Router) -> None:
    rows = [json.loads(line) for line in TEST_SET.read_text().splitlines() if line.strip()]
    assert len(rows) >= 100
    results = [(row, router.classify(row["text"])) for row in rows]
    intent_accuracy = sum(i.name == row["intent"] for row, i in results) / len(rows)
    route_accuracy = sum(i.route == row["route"] for row, i in results) / len(rows)
    misses = Counter((row["route"], i.route) for row, i in results if i.route != row["route"])
    assert intent_accuracy >= INTENT_FLOOR, f"intent accuracy {intent_accuracy:.3f}; route misses {misses}"
    assert route_accuracy >= ROUTE_FLOOR, f"route accuracy {route_accuracy:.3f}; route misses {misses}"


def off_topic() -> list[str]:
    return [json.loads(line)["text"] for line in OUT_OF_SCOPE_SET.read_text().splitlines() if line.strip()]


def test_held_out_off_topic_messages_are_mostly_unknown(router: Router) -> None:
    assert not set(off_topic()) & set(router.catalog.out_of_scope)  # held out, not learnt
    placed = {text: router.classify(text).name for text in off_topic()}
    assert sum(name == UNKNOWN for name in placed.values()) >= OUT_OF_SCOPE_FLOOR, placed


def test_out_of_scope_examples_are_what_moves_off_topic_messages_to_unknown(router: Router) -> None:
    from agent.routing.linear import LinearIntentClassifier
    from agent.routing.router import catalog_examples

    without = Router(router.catalog, router.default_route, router.threshold,
                     classifier=LinearIntentClassifier().fit(catalog_examples(router.catalog)))
    unknown = [sum(r.classify(t).name == UNKNOWN for t in off_topic()) for r in (router, without)]
    assert unknown[0] > unknown[1], unknown


@pytest.mark.parametrize(
    ("text", "route"),
    [
        ("where is my order NW-10482", "lookup"),
        ("nw10517", "lookup"),
        ("hey wheres my package, ordered last week", "lookup"),
        ("the zipper on my new jacket broke after one day, really disappointed", "support"),
        ("this is the worst service ive ever had", "support"),
        ("how much is the ridgeline boot", "sales"),
        ("do you do discounts if I buy 10 tents for our scout group", "sales"),
    ],
)
def test_demo_routing(router: Router, text: str, route: str) -> None:
    assert router.classify(text).route == route


@pytest.mark.parametrize("text", ["can I talk to a human", "I want a REAL PERSON now", "get me a representative"])
def test_asking_for_a_person_is_a_rule(router: Router, text: str) -> None:
    intent = router.classify(text)
    assert (intent.name, intent.tier, intent.confidence) == ("human_handoff", "rule", 1.0)


def test_an_order_number_in_a_sentence_does_not_hide_the_intent(router: Router) -> None:
    assert router.classify("please cancel NW-10641").name == "cancel_order"


@pytest.mark.parametrize("text", ["and the red one?", "yes please", "ok", "hmm"])
def test_short_follow_ups_keep_the_current_route(router: Router, text: str) -> None:
    intent = router.classify(text, current_route="sales")
    assert (intent.route, intent.name, intent.tier) == ("sales", FOLLOW_UP, "context")


def test_a_long_unplaceable_message_is_unknown_but_keeps_the_route(router: Router) -> None:
    intent = router.classify("zxqv plorth wibble gronk snarf", current_route="sales")
    assert (intent.route, intent.name, intent.tier) == ("sales", UNKNOWN, "context")


def test_a_clear_new_intent_switches_route(router: Router) -> None:
    intent = router.classify("where is my order NW-10482", current_route="sales")
    assert intent.route == "lookup"


@pytest.mark.parametrize(
    "text",
    ["¿Dónde está mi pedido?", "我的订单在哪里", "Wo ist meine Bestellung?", "Где мой заказ?", "注文はどこですか",
     "مرحبا أين طلبي", "asdf qwer zxcv", "🙂🙂🙂", "!!!"],
)
def test_unplaceable_text_is_unknown_and_goes_to_the_default_route(router: Router, text: str) -> None:
    started = time.perf_counter()
    intent = router.classify(text)
    wall_ms = (time.perf_counter() - started) * 1000
    assert intent.name == UNKNOWN and intent.tier == "fallback" and intent.route == "support"
    assert 0 < intent.elapsed_ms <= wall_ms  # measured, not the default


def test_a_trained_router_is_cached_and_reloaded(tmp_path: Path) -> None:
    from agent.routing.cache import cache_path

    settings = load_settings(data_dir=str(tmp_path))
    first = build_router(settings)
    path = cache_path(tmp_path / "cache", settings.resolve(settings.routing.intents_file))
    assert path.exists()
    stamp = path.stat().st_mtime_ns
    second = build_router(settings)
    assert path.stat().st_mtime_ns == stamp  # loaded, not trained and written again
    rows = [json.loads(line)["text"] for line in TEST_SET.read_text().splitlines()[:40]]
    assert [first.classify(t).name for t in rows] == [second.classify(t).name for t in rows]
    assert [round(first.classify(t).confidence, 4) for t in rows] == [round(second.classify(t).confidence, 4) for t in rows]


def test_a_truncated_cache_file_is_trained_again(tmp_path: Path) -> None:
    from agent.routing.cache import cache_path

    settings = load_settings(data_dir=str(tmp_path))
    build_router(settings)
    path = cache_path(tmp_path / "cache", settings.resolve(settings.routing.intents_file))
    whole = path.read_bytes()
    for spoilt in (whole[: len(whole) // 2], b""):  # a crash mid-write elsewhere, a full disk
        path.write_bytes(spoilt)
        router = build_router(settings)
        assert router.classify("where is my order").name == "order_status"
        assert path.read_bytes() != spoilt and len(path.read_bytes()) == len(whole)
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]  # no temporary left behind


def test_editing_the_intents_trains_afresh(tmp_path: Path) -> None:
    from agent.routing.cache import cache_path

    source = load_settings().resolve(load_settings().routing.intents_file)
    edited = tmp_path / "intents.yaml"
    edited.write_text(source.read_text())
    settings = load_settings(data_dir=str(tmp_path), routing={"intents_file": str(edited)})
    build_router(settings)
    before = cache_path(tmp_path / "cache", edited)
    edited.write_text(source.read_text().replace("intents:", "intents:\n  gift_wrap:\n    route: sales\n    examples: [\"can you gift wrap it\", \"do you do gift wrapping\", \"wrap it as a present please\"]", 1))
    after = cache_path(tmp_path / "cache", edited)
    assert before != after
    router = build_router(settings)
    assert router.classify("could you gift wrap my order").name == "gift_wrap"


@pytest.mark.parametrize("body", ["{weather: yes}", "[tell me a joke, [nested]]", "just one string"])
def test_a_malformed_out_of_scope_list_is_refused(tmp_path: Path, body: str) -> None:
    from agent.routing.intents import load_intents

    path = tmp_path / "intents.yaml"
    path.write_text(f"intents:\n  hello:\n    route: sales\n    examples: [hi]\nout_of_scope: {body}\n")
    with pytest.raises(ValueError, match="out_of_scope: a list of example messages"):
        load_intents(path, {"sales"})


def test_out_of_scope_examples_are_plain_values_and_never_an_intents_example(tmp_path: Path) -> None:
    from agent.routing.intents import load_intents

    path = tmp_path / "intents.yaml"
    head = "intents:\n  hello:\n    route: sales\n    examples: [hi there, hey]\n"
    path.write_text(head + "out_of_scope: [911, what's the weather]\n")
    assert load_intents(path, {"sales"}).out_of_scope == ("911", "what's the weather")
    path.write_text(head + "out_of_scope:\n")
    assert load_intents(path, {"sales"}).out_of_scope == ()
    path.write_text(head + "out_of_scope: ['Hi there ']\n")
    with pytest.raises(ValueError, match="'Hi there ' is also an example of intents.hello"):
        load_intents(path, {"sales"})

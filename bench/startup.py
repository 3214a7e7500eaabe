"""Start-up time of the command line and of the composition root, next to a bare interpreter.

    python bench/startup.py [--runs 10] [--json] [--smoke]

Each command runs as a fresh process from the checkout, `--runs` times, the commands taking
turns so that a busy machine slows them alike; one untimed run of each comes first (it writes
the bytecode and warms the file cache). Reported: each one's median wall time, its ratio to
the baseline (`python -c pass`, measured in the same run) and the time it adds to it. `switchboard --help`
imports the command line only, so what it adds is the price of every command's first line;
importing agent.app.server is what `switchboard serve` pays before it builds anything. The run
fails if a command exits non-zero or prints no help. `--smoke` is 3 runs of each.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.support.harness import Broken, expect, server_env  # noqa: E402

BASELINE = "python -c pass"
COMMANDS: dict[str, list[str]] = {
    BASELINE: [sys.executable, "-c", "pass"],
    "switchboard --help": [sys.executable, "-m", "agent.cli", "--help"],
    "import agent.app.server": [sys.executable, "-c", "import agent.app.server"],
}


def run_once(name: str, env: dict[str, str]) -> float:
    """Seconds from starting `name` to its exit; it must succeed (and `--help` print help)."""
    started = time.perf_counter()
    result = subprocess.run(COMMANDS[name], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    seconds = time.perf_counter() - started
    expect(result.returncode == 0, f"{name} exited with {result.returncode}: {result.stderr.strip()[-2000:]}")
    if name == "switchboard --help":
        expect("Usage: " in result.stdout, f"{name} printed no help: {result.stdout[:500]!r}")
    return seconds


def measure(runs: int) -> dict[str, float]:
    """Median seconds of each command over `runs` runs."""
    with tempfile.TemporaryDirectory() as data_dir:
        env = server_env(Path(data_dir), {})  # not the shell's SWITCHBOARD_* settings
        # Bytecode is written by the untimed run, as an installed switchboard has it: otherwise
        # every run would time compiling the project's sources too.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        for name in COMMANDS:
            run_once(name, env)
        samples: dict[str, list[float]] = {name: [] for name in COMMANDS}
        for _ in range(runs):
            for name in COMMANDS:
                samples[name].append(run_once(name, env))
    return {name: statistics.median(times) for name, times in samples.items()}


def main(runs: int, as_json: bool) -> None:
    medians = measure(runs)
    baseline = medians[BASELINE]
    report = {
        "runs": runs,
        "commands": {
            name: {
                "median_ms": round(seconds * 1000, 1),
                "ratio": round(seconds / baseline, 2),
                "over_baseline_ms": round((seconds - baseline) * 1000, 1),
            }
            for name, seconds in medians.items()
        },
    }
    if as_json:
        print(json.dumps(report))
        return
    print(f"{'median of ' + str(runs) + ' runs':<26}{'ms':>10}{'ratio':>8}{'over baseline ms':>19}")
    for name, row in report["commands"].items():
        print(f"{name:<26}{row['median_ms']:>10}{row['ratio']:>8}{row['over_baseline_ms']:>19}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--smoke", action="store_true", help="3 runs of each: does it still run?")
    args = parser.parse_args()
    if args.smoke:
        args.runs = 3
    try:
        main(args.runs, args.json)
    except Broken as exc:
        sys.exit(f"startup.py: FAILED: {exc}")

"""The layering of docs/architecture.md, as import-linter contracts in pyproject.toml."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_are_kept() -> None:
    lint_imports = shutil.which("lint-imports") or str(Path(sys.executable).parent / "lint-imports")
    result = subprocess.run([lint_imports, "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def layered_modules() -> list[str]:
    """The modules named by the layers contract, each layer split into its siblings."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    contracts = config["tool"]["importlinter"]["contracts"]
    (layers,) = [c["layers"] for c in contracts if c["type"] == "layers"]
    return [name.strip() for layer in layers for name in re.split(r"[|:]", layer)]


def outside_layers(modules: list[str], layered: list[str]) -> list[str]:
    return [m for m in modules if not any(m == name or m.startswith(name + ".") for name in layered)]


def project_modules() -> list[str]:
    """Every module of the three root packages, but the roots themselves."""
    found = []
    for root in ("agent", "channels", "personas"):
        for path in sorted((ROOT / root).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            if len(parts) > 1:
                found.append(".".join(parts))
    return found


def test_every_module_belongs_to_a_layer() -> None:
    layered = layered_modules()
    assert outside_layers(["agent.somewhere_new", "agent.app.server"], layered) == ["agent.somewhere_new"]
    assert outside_layers(project_modules(), layered) == []

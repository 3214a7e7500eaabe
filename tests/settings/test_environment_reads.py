"""The environment is read in one module, agent/settings/environment.py; everywhere else asks it."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ENVIRONMENT = "agent/settings/environment.py"
# What of `os` touches the environment.
ENVIRON_NAMES = {"environ", "environb", "getenv", "getenvb", "putenv", "unsetenv"}
# Files that may touch the environment anyway, each with why.
ALLOWED = {
    # Sets the Hugging Face libraries' offline switches before it loads the model the package
    # ships: a library's setting, not the project's, in agent.routing, a layer below agent.settings.
    "agent/routing/training/distill.py",
}


def environment_reads(source: str) -> list[int]:
    """The lines of `source` that read or write the environment through `os`."""
    tree = ast.parse(source)
    os_names = {"os"} | {
        alias.asname or alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
        if alias.name == "os"
    }
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            if node.value.id in os_names and node.attr in ENVIRON_NAMES:
                lines.append(node.lineno)
        elif isinstance(node, ast.ImportFrom) and node.module == "os":
            if any(alias.name in ENVIRON_NAMES for alias in node.names):
                lines.append(node.lineno)
    return sorted(lines)


def runtime_files() -> list[str]:
    return [
        path.relative_to(ROOT).as_posix()
        for root in ("agent", "channels", "personas")
        for path in sorted((ROOT / root).rglob("*.py"))
    ]


def test_the_scan_finds_every_way_of_reaching_the_environment() -> None:
    assert environment_reads("import os\nos.environ.get('A')\n") == [2]
    assert environment_reads("import os\n\nx = os.getenv('A')\n") == [3]
    assert environment_reads("import os as system\nsystem.environ['A'] = '1'\n") == [2]
    assert environment_reads("from os import environ\nenviron.get('A')\n") == [1]
    assert environment_reads("from os import getenv\n") == [1]
    assert environment_reads("import os\nos.cpu_count()\n# os.environ in a comment\n'os.environ'\n") == []


def test_only_the_environment_module_reads_the_environment() -> None:
    files = runtime_files()
    assert ENVIRONMENT in files and environment_reads((ROOT / ENVIRONMENT).read_text())
    found = {
        f"{name}:{line}"
        for name in files
        if name != ENVIRONMENT and name not in ALLOWED
        for line in environment_reads((ROOT / name).read_text())
    }
    assert found == set(), "read the environment in agent.settings.environment and pass the value in"


def test_every_allowed_file_still_needs_it() -> None:
    assert [name for name in sorted(ALLOWED) if not environment_reads((ROOT / name).read_text())] == []

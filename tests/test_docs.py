"""The documentation site builds with `mkdocs build --strict`: a broken link or anchor fails it."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.services import unavailable

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.timeout(180)


def test_the_docs_build_strictly(tmp_path: Path) -> None:
    for module in ("mkdocs", "material"):
        if importlib.util.find_spec(module) is None:
            unavailable(f"{module} is not installed (pip install -e '.[docs]')")
    site = tmp_path / "site"
    # The theme's notice about its future is not a warning about these docs.
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=150,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert (site / "index.html").is_file()
    assert (site / "configuration" / "index.html").is_file()
    assert (site / "images" / "console.png").is_file()

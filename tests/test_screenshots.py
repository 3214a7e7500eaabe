"""The docs' screenshot script drives the real pages in headless Chromium and writes both PNGs."""

from __future__ import annotations

import os
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.services import chromium_path, unavailable

ROOT = Path(__file__).resolve().parents[1]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
pytestmark = pytest.mark.timeout(180)


def png_size(path: Path) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk; fails on anything that is not a PNG."""
    head = path.read_bytes()[:24]
    assert head[:8] == PNG_SIGNATURE, f"{path.name} is not a PNG"
    assert head[12:16] == b"IHDR", f"{path.name} has no IHDR chunk first"
    width, height = struct.unpack(">II", head[16:24])
    return width, height


def test_the_screenshot_script_writes_both_images(tmp_path: Path) -> None:
    chromium = chromium_path()
    try:
        import playwright  # noqa: F401
    except ImportError:
        unavailable("playwright is not installed (pip install -e '.[dev]')")
    out = tmp_path / "images"
    result = subprocess.run(
        [sys.executable, "scripts/screenshots.py", "--out", str(out)],
        cwd=ROOT, env={**os.environ, "SWITCHBOARD_TEST_CHROMIUM": chromium}, capture_output=True, text=True, timeout=150,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    for name in ("webchat.png", "console.png"):
        image = out / name
        assert image.stat().st_size > 0
        assert png_size(image) == (1200, 800)


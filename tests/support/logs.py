"""What the in-process server logged during a request: structlog events, and the stdlib's records."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import structlog


@contextmanager
def captured(caplog: pytest.LogCaptureFixture) -> Iterator[list[dict[str, Any]]]:
    """structlog events logged inside the block; fails if anything logged an error or a traceback."""
    caplog.clear()
    with structlog.testing.capture_logs() as events:
        yield events
    errors = [e for e in events if e["log_level"] in ("error", "critical") or e.get("exc_info")]
    assert not errors, errors
    records = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert not records, [r.getMessage() for r in records]


def refused(events: list[dict[str, Any]]) -> list[tuple[int, str | None]]:
    """(status, code) of each request_refused line."""
    return [(e["status"], e["code"]) for e in events if e["event"] == "request_refused"]

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from agent.contracts.knowledge import DocumentRecord
from agent.knowledge.parsing import parse_document

ParseFile = Callable[..., DocumentRecord]


@pytest.fixture
def parse_file(tmp_path: Path) -> ParseFile:
    """Writes a real file, reads its bytes back and parses them, as an ingest would."""

    def parse(name: str, content: str | bytes, **options: int) -> DocumentRecord:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            path.write_text(content, encoding="utf-8")
        else:
            path.write_bytes(content)
        return parse_document(path, path.read_bytes(), collection="help", source=name, **options)

    return parse

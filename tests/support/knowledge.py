"""A small help centre on disk, and the settings that make a server answer from it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

WARRANTY = """---
title: Warranty and repairs
url: https://shop.example/help/warranty
---
# Warranty and repairs

## Broken tent poles
A snapped tent pole is replaced free within the two-year warranty: send a photo to repairs@shop.example.
"""

# A document whose address is a script: the pages must show its title, never follow it.
GIFT_CARDS = """---
title: Gift cards
url: "javascript:alert(1)"
---
# Gift cards

## Gift card balance
A gift card balance never expires and can be spent on anything in the shop.
"""


def help_centre(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "warranty.md").write_text(WARRANTY)
    (folder / "gift-cards.md").write_text(GIFT_CARDS)
    return folder


def knowledge_settings(folder: Path) -> dict[str, Any]:
    """The `knowledge` settings for `folder`: its documents are the knowledge base."""
    return {"sources": [{"path": str(folder), "collection": "help"}]}

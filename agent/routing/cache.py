"""A trained router kept on disk, so start-up loads it instead of training again.

The file is named by a hash of the intents file's bytes and the classifier's version: edit the
examples and the next start (or `switchboard router train`) trains afresh.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import structlog

from agent.routing.intents import IntentCatalog
from agent.routing.linear import LinearIntentClassifier
from agent.routing.router import train_classifier

log = structlog.get_logger(__name__)
FORMAT_VERSION = b"linear-1"


def cache_path(cache_dir: Path, intents_file: Path) -> Path:
    digest = hashlib.sha256(FORMAT_VERSION + intents_file.read_bytes()).hexdigest()[:16]
    return cache_dir / f"router-{digest}.npz"


def trained_classifier(catalog: IntentCatalog, intents_file: Path, cache_dir: Path, retrain: bool = False) -> LinearIntentClassifier:
    """The cached model for this intents file, or a freshly trained one (then cached)."""
    path = cache_path(cache_dir, intents_file)
    if path.exists() and not retrain:
        try:
            return LinearIntentClassifier.load(path)
        except (OSError, ValueError, KeyError) as exc:
            log.warning("router_cache_unreadable", path=str(path), error=str(exc))
    classifier = train_classifier(catalog)
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".tmp")
        classifier.save(temporary)
        temporary.replace(path)  # atomic: a concurrent start never reads half a file
    except OSError as exc:
        log.warning("router_cache_not_written", path=str(path), error=str(exc))
    return classifier

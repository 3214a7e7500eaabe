"""A trained router kept on disk, so start-up loads it instead of training again.

The file is named by a hash of the intents file's bytes and the classifier's kind and version:
edit the examples and the next start (or `switchboard router train`) trains afresh. A cached
semantic model loads with numpy alone; only training it needs the `semantic` extra.
"""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path
from typing import Literal

import structlog

from agent.routing.training.distill import SemanticUnavailable
from agent.routing.files import replaced_atomically
from agent.routing.intents import IntentCatalog
from agent.routing.linear import LinearIntentClassifier
from agent.routing.router import IntentClassifier, catalog_examples
from agent.routing.semantic import SemanticIntentClassifier

log = structlog.get_logger(__name__)
ClassifierKind = Literal["linear", "semantic"]
# Bumped whenever training changes what a file's model would be, so models trained the old way
# are not loaded (linear-2 and semantic-3: out-of-scope examples, which older versions skipped
# in a file that has them; semantic-3 also the mean teacher).
FORMAT_VERSIONS: dict[str, bytes] = {"linear": b"linear-2", "semantic": b"semantic-3"}
_CLASSES: dict[str, type[LinearIntentClassifier] | type[SemanticIntentClassifier]] = {
    "linear": LinearIntentClassifier,
    "semantic": SemanticIntentClassifier,
}


def cache_path(cache_dir: Path, intents_file: Path, kind: ClassifierKind = "linear") -> Path:
    digest = hashlib.sha256(FORMAT_VERSIONS[kind] + intents_file.read_bytes()).hexdigest()[:16]
    prefix = "router" if kind == "linear" else f"router-{kind}"
    return cache_dir / f"{prefix}-{digest}.npz"


def trained_classifier(
    catalog: IntentCatalog, intents_file: Path, cache_dir: Path, retrain: bool = False, kind: ClassifierKind = "linear"
) -> IntentClassifier:
    """The cached model for this intents file, or a freshly trained one (then cached).

    A semantic model that cannot be trained here (the extra is not installed) falls back to
    the linear one, with a warning naming the install command.
    """
    if kind == "semantic":
        try:
            return _cached_or_trained(catalog, intents_file, cache_dir, retrain, "semantic")
        except SemanticUnavailable as exc:
            log.warning("router_semantic_unavailable", error=str(exc), fallback="linear")
    return _cached_or_trained(catalog, intents_file, cache_dir, retrain, "linear")


def _cached_or_trained(
    catalog: IntentCatalog, intents_file: Path, cache_dir: Path, retrain: bool, kind: ClassifierKind
) -> IntentClassifier:
    path = cache_path(cache_dir, intents_file, kind)
    model_class = _CLASSES[kind]
    if path.exists() and not retrain:
        try:
            return model_class.load(path)
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:  # a truncated file too
            log.warning("router_cache_unreadable", path=str(path), error=str(exc))
    classifier = (SemanticIntentClassifier(cache_dir=cache_dir) if kind == "semantic" else LinearIntentClassifier())
    classifier.fit(catalog_examples(catalog), catalog.out_of_scope)
    try:
        with replaced_atomically(path) as temporary:
            classifier.save(temporary)
    except OSError as exc:
        log.warning("router_cache_not_written", path=str(path), error=str(exc))
    return classifier

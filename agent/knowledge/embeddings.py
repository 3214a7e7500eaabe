"""Sentence vectors for semantic search: the all-MiniLM-L6-v2 encoder the semantic router ships.

Optional: it needs the `semantic` extra (torch and the packaged model, loaded offline on the CPU).
Without it `semantic_encoder()` says so once and returns None, and search is by words alone.
Vectors are unit length, so a dot product is their cosine; stored as little-endian float32 bytes.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ParamSpec, Protocol, TypeVar

import numpy as np
import structlog

from agent.contracts import DocumentRecord
from agent.routing.training.distill import DIMENSIONS, SemanticUnavailable, load_minilm, require_extra
from agent.store.knowledge import SECTION_SEPARATOR

log = structlog.get_logger(__name__)

PURPOSE = "knowledge.semantic (semantic search of the knowledge base)"
VECTOR_DTYPE = np.dtype("<f4")
P = ParamSpec("P")
T = TypeVar("T")
_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="knowledge-encoder")


class Encoder(Protocol):
    """Texts in, one unit-length float32 row per text out: (len(texts), dimensions)."""

    @property
    def dimensions(self) -> int: ...

    def encode(self, texts: Sequence[str]) -> np.ndarray: ...


class MiniLMEncoder:
    """all-MiniLM-L6-v2 on the CPU, 384 dimensions; the model loads on the first `encode`.

    Blocking: callers on the event loop run it in a thread. The model is thread-safe to call;
    loading it is not, hence the lock.
    """

    def __init__(self, batch_size: int = 64) -> None:
        self._batch_size = batch_size
        self._model: Any = None
        self._loading = threading.Lock()

    @property
    def dimensions(self) -> int:
        return DIMENSIONS

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        import torch

        model = self._loaded()
        with torch.inference_mode():
            vectors = model.encode(
                list(texts), batch_size=self._batch_size, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
            )
        return np.asarray(vectors, dtype=np.float32)

    def _loaded(self) -> Any:
        with self._loading:
            if self._model is None:
                from transformers.utils import logging as transformers_logging

                transformers_logging.disable_progress_bar()  # no bar in the logs for loading a packaged model
                self._model = load_minilm(PURPOSE)
            return self._model


def load_encoder() -> Encoder:
    """The MiniLM encoder; SemanticUnavailable, naming the install command, without the extra."""
    require_extra(PURPOSE)
    return MiniLMEncoder()


def semantic_encoder() -> Encoder | None:
    """The MiniLM encoder, or None (with one warning) where the `semantic` extra is not installed."""
    try:
        return load_encoder()
    except SemanticUnavailable as exc:
        log.warning("knowledge_semantic_unavailable", reason=str(exc), search="bm25")
        return None


async def on_encoder_thread(function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run an encoding off the event loop, always on the same thread: torch warms up once per thread
    (a first call on a new one takes a few hundred milliseconds), and two encodings at once would
    only share the same cores."""
    return await asyncio.get_running_loop().run_in_executor(_thread, lambda: function(*args, **kwargs))


def chunk_texts(record: DocumentRecord) -> list[str]:
    """What each chunk's vector is made from: the document's title, the section path, the text."""
    return [
        "\n".join(part for part in (record.title, SECTION_SEPARATOR.join(chunk.section), chunk.text) if part)
        for chunk in record.chunks
    ]


def embed_document(encoder: Encoder, record: DocumentRecord) -> list[bytes]:
    """One vector per chunk, in chunk order, as the store keeps them."""
    vectors = encoder.encode(chunk_texts(record)) if record.chunks else np.zeros((0, encoder.dimensions), np.float32)
    return [to_bytes(vector) for vector in vectors]


def to_bytes(vector: np.ndarray) -> bytes:
    return np.ascontiguousarray(vector, dtype=VECTOR_DTYPE).tobytes()


def from_bytes(data: bytes) -> np.ndarray:
    return np.frombuffer(data, dtype=VECTOR_DTYPE)

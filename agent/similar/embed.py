"""The local embedding model: WordLlama's ``l2_supercat`` (256 dimensions), shipped in its wheel.

How well it reads a text is measured too (:meth:`Embedder.reading`): averaged token embeddings
carry meaning where words are whole tokens of its vocabulary, and little where each word splits into
many pieces (Polish, Swedish, Japanese…), so ranking leans on the words there (``rank.py``).

Loaded from the files inside the installed package only (``disable_download``): nothing is
fetched at run time. WordLlama looks for its tokenizer under ``tokenizer/`` in its package while
the wheel ships it under ``tokenizers/``, so we point its cache directory at the package itself,
where both ``weights/`` and ``tokenizers/`` are. Any failure to import or load leaves
:func:`load_embedder` returning ``None`` with the reason, and ranking falls back to BM25.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from pydantic import BaseModel

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

__all__ = [
    "MODEL_NAME",
    "Embedder",
    "EmbedderStatus",
    "WordLlamaEmbedder",
    "embedder_status",
    "load_embedder",
    "reading_of",
    "reset",
]

log = logging.getLogger("casefile.similar")

MODEL_NAME = "wordllama l2_supercat 256d"
_CONFIG = "l2_supercat"
_DIM = 256
# Pieces per word at or below which the model reads a text fully (English support text: 1.1–1.3), and
# at or above which not at all (chosen on the labelled sets of evals/README.md, one world held out).
FLUENT_PIECES, OPAQUE_PIECES = 1.3, 1.8
_WORD = re.compile(r"\w+")
_READ_CHARS = 4000


class Embedder(Protocol):
    name: str

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """One L2-normalised row per text."""
        ...

    def reading(self, text: str) -> float:
        """How well the model reads ``text``: 1 fully, 0 not at all."""
        ...


def reading_of(pieces_per_word: float) -> float:
    """1 up to :data:`FLUENT_PIECES` tokens per word, 0 from :data:`OPAQUE_PIECES`, linear between."""
    span = OPAQUE_PIECES - FLUENT_PIECES
    return round(min(1.0, max(0.0, (OPAQUE_PIECES - pieces_per_word) / span)), 3)


class EmbedderStatus(BaseModel):
    """Whether ranking by meaning is available, and why not when it is not."""

    available: bool
    model: str | None = None
    reason: str | None = None


class WordLlamaEmbedder:
    """WordLlama's averaged token embeddings: ~1 s to load, well under 1 ms per ticket on a CPU."""

    name = MODEL_NAME

    def __init__(self) -> None:
        import wordllama
        from wordllama import WordLlama

        package = Path(wordllama.__file__).parent
        self._model = WordLlama.load(config=_CONFIG, dim=_DIM, cache_dir=package, disable_download=True)

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        import numpy as np

        if not texts:
            return np.zeros((0, _DIM), dtype=np.float32)
        vectors = self._model.embed(list(texts), norm=True)
        return np.asarray(vectors, dtype=np.float32)

    def reading(self, text: str) -> float:
        # Words without digits: numbers and ids split into pieces in every language.
        words = [w for w in _WORD.findall(text[:_READ_CHARS]) if not any(c.isdigit() for c in w)]
        if not words:
            return 1.0
        pieces = len(self._model.tokenize(" ".join(words))[0].ids)
        return reading_of(pieces / len(words))


_lock = threading.Lock()
_loaded: Embedder | None = None
_status: EmbedderStatus | None = None


def load_embedder() -> Embedder | None:
    """The process's embedding model (loaded once), or None when it cannot load."""
    global _loaded, _status
    with _lock:
        if _status is None:
            try:
                _loaded = WordLlamaEmbedder()
                _status = EmbedderStatus(available=True, model=MODEL_NAME)
            except Exception as exc:  # any failure means BM25, never a failed investigation
                reason = f"{type(exc).__name__}: {exc}".splitlines()[0][:200]
                log.warning("embedding model unavailable, ranking with BM25: %s", reason)
                _loaded, _status = None, EmbedderStatus(available=False, reason=reason)
        return _loaded


def reset() -> None:
    """Forget the loaded model (a test that breaks the loader, or a reload)."""
    global _loaded, _status
    with _lock:
        _loaded, _status = None, None


def embedder_status() -> EmbedderStatus:
    load_embedder()
    assert _status is not None
    return _status

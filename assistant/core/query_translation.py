"""A Chinese (Japanese, Korean) question put into English by the chat model, so it
can be searched in English documents too.

The full-text index cannot match Chinese words to English text, and the English
embedder cannot read Chinese. Searching the translation beside the question raised
the dev set's cross-lingual questions from hit@1 / hit@5 0.10 / 0.50 to about
0.6 / 0.8 and did not hurt the Chinese-on-Chinese ones (bench/retrieval_directions.py).
Greedy and short: about 0.3-1.5 s on 2 cores, paid only by CJK questions.
"""

from __future__ import annotations

from assistant.core.cancel import CancelToken
from assistant.core.llm import Generator
from assistant.core.search_text import is_cjk_text

TRANSLATE_SYSTEM = (
    "Translate the user's question into English. Keep commands, options and names "
    "as they are. Reply with the English translation only."
)
MAX_TOKENS = 48


def english_query(
    generator: Generator, question: str, cancel: CancelToken | None = None
) -> str | None:
    """The question in English, or None when it is not CJK or the model's reply is
    no English sentence (then the question is searched alone)."""
    if not is_cjk_text(question):
        return None
    messages = [
        {"role": "system", "content": TRANSLATE_SYSTEM},
        {"role": "user", "content": question},
    ]
    pieces = []
    for piece in generator.stream_chat(
        messages,
        max_tokens=MAX_TOKENS,
        temperature=0.0,
        cancel=cancel or CancelToken(),
    ):
        pieces.append(piece)
    lines = [line.strip() for line in "".join(pieces).splitlines() if line.strip()]
    if not lines or is_cjk_text(lines[0]):
        return None
    return lines[0]

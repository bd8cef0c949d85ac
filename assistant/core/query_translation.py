"""A Chinese (Japanese, Korean) question put into English by the chat model, so it
can be searched in English documents too.

The full-text index cannot match Chinese words to English text, and the English
embedder cannot read Chinese. Searching the translation beside the question raised
the dev set's cross-lingual questions from hit@1 / hit@5 0.10 / 0.50 to about
0.6 / 0.8 and did not hurt the Chinese-on-Chinese ones (bench/retrieval_directions.py).
Greedy and short, paid only by CJK questions: 2.2 s mean on the dev set's 34 (2 cores,
2026-12-05), reading only the reply's first line.

With this prompt the default 1.5B model often *answers* the question in English
instead of translating it (20 of the dev set's 34 replies were no question). That
works as a hypothetical answer in the documents' words: a few-shot prompt that
translated 32 of 34 faithfully found no more (Chinese hit@1 0.55 vs 0.60,
cross-lingual 0.60 vs 0.70; bench/query_side_probes.py), so measure before
"fixing" it.
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
    reply = ""
    pieces = generator.stream_chat(
        messages, max_tokens=MAX_TOKENS, temperature=0.0, cancel=cancel or CancelToken()
    )
    try:
        for piece in pieces:
            reply += piece
            if "\n" in reply.lstrip():
                break  # only the first line is searched: the rest is not waited for
    finally:
        close = getattr(pieces, "close", None)  # a generator: ends the model's stream
        if close is not None:
            close()
    lines = [line.strip() for line in reply.splitlines() if line.strip()]
    if not lines or is_cjk_text(lines[0]):
        return None
    return lines[0]

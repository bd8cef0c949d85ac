"""What the chat model adds to a question before it is searched: a Chinese
(Japanese, Korean) question put into English, so it can be searched in English
documents too, and the terms the documentation likely uses for what is asked.

Terms (``document_terms``): users describe a problem ("four graphs in a 2 by 2
grid"), manuals name the command; the model's guess at the commands, options and
names, appended to the question (and to its translation), lets the full-text and
vector lists search the manual's words. On the dev set (one run,
bench/query_side_probes.py, README *Retrieval on the dev set*) answerable hit@1 /
hit@5 went 0.79 / 0.91 -> 0.81 / 0.94 (paraphrase hit@5 0.89 -> 0.93), for 0.9 s
a question on 2 cores. Appending them as a separate full-text list instead moved
nothing (0.78 / 0.92): in the question they also steer its vector. Off by default
(setting ``question_terms``): with answers the same run's keyword accuracy fell
0.71 -> 0.67 and the first token came 1.3 s later (the request also evicts the
answer prompt's cached prefix), so the better pages did not make better answers.

Translation:

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
from assistant.core.generate.llm import Generator
from assistant.core.search_text import is_cjk_text

TRANSLATE_SYSTEM = (
    "Translate the user's question into English. Keep commands, options and names "
    "as they are. Reply with the English translation only."
)
MAX_TOKENS = 48
TERMS_SYSTEM = (
    "You help search the documentation of software. Given a user's question, list "
    "the exact commands, options, settings, functions, file names or technical terms "
    "the documentation most likely uses for what the user asks. Reply with the terms "
    "only, separated by commas, on one line."
)
TERMS_MAX_TOKENS = 40
TERMS_MAX_CHARS = 200


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
    line = _first_line(generator, messages, MAX_TOKENS, cancel)
    if not line or is_cjk_text(line):
        return None
    return line


def document_terms(
    generator: Generator, question: str, cancel: CancelToken | None = None
) -> str:
    """The commands, options and names the documentation likely uses for what
    ``question`` asks (one line, comma-separated; "" when the model gives none)."""
    messages = [
        {"role": "system", "content": TERMS_SYSTEM},
        {"role": "user", "content": question},
    ]
    line = _first_line(generator, messages, TERMS_MAX_TOKENS, cancel)
    return (
        line[:TERMS_MAX_CHARS].rsplit(",", 1)[0]
        if len(line) > TERMS_MAX_CHARS
        else line
    )


def with_terms(
    question: str, translation: str | None, terms: str
) -> tuple[str, str | None]:
    """The question and its translation as searched with the model's terms."""
    if not terms:
        return question, translation
    return f"{question} {terms}", f"{translation} {terms}" if translation else None


def _first_line(
    generator: Generator,
    messages: list[dict[str, str]],
    max_tokens: int,
    cancel: CancelToken | None,
) -> str:
    """The first non-empty line of the model's greedy reply ("" if none)."""
    reply = ""
    pieces = generator.stream_chat(
        messages,
        max_tokens=max_tokens,
        temperature=0.0,
        cancel=cancel or CancelToken(),
        aside=True,  # the conversation's cache stays for the answer
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
    return (
        "" if cancel is not None and cancel.cancelled else (lines[0] if lines else "")
    )

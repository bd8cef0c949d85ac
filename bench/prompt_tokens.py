"""What the model reads, by part: the prompt tokens of the app's answer design
and of lighter variants, over the dev set's answerable questions and the
passages found for each as asked (no translation; no answer is generated; the
chat model's tokenizer counts).

    ASSISTANT_HOME=DEV_LIBRARY_HOME python bench/prompt_tokens.py [--questions FILE]

Prompt reading is most of the wait for the first token on a CPU (issue 48), so
this is the cost side of a leaner prompt; the accuracy side needs answers
(`bench/answer_designs.py` with the same variants). Prints, per variant, the
mean and 90th percentile of prompt tokens and of passages read, and the share of
questions whose best passage (the gold page) is still in the prompt.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import sys
from pathlib import Path

from report import DEVSET_QUESTIONS, print_result, print_rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--questions", type=Path, default=DEVSET_QUESTIONS)
    parser.add_argument("--limit", type=int, default=0)
    args = parser.parse_args()
    if "ASSISTANT_HOME" not in os.environ:
        sys.exit("set ASSISTANT_HOME to the dev set's library home")

    from assistant.core.answer.evaluation import load_questions, matches_gold
    from assistant.core.answer.prompt import ANSWER_DESIGN
    from assistant.core.config import Settings
    from assistant.core.services.components import load_generator
    from assistant.core.services.conversation import Conversation
    from assistant.core.services.library import Library

    settings = Settings()
    library = Library.open(settings)
    generator = load_generator(settings)
    questions = load_questions(args.questions)
    questions = [q for q in questions if q.gold]  # answerable
    if args.limit:
        questions = questions[: args.limit]
    variants = {
        "default (widen 1, 3 key lines, cap 900)": ANSWER_DESIGN,
        "no key lines": dataclasses.replace(ANSWER_DESIGN, key_sentences=0),
        "no widening": dataclasses.replace(ANSWER_DESIGN, widen=0),
        "neither": dataclasses.replace(ANSWER_DESIGN, widen=0, key_sentences=0),
        "cap 600": dataclasses.replace(ANSWER_DESIGN, max_user_tokens=600),
        "cap 400": dataclasses.replace(ANSWER_DESIGN, max_user_tokens=400),
        "top 2 passages": dataclasses.replace(ANSWER_DESIGN, max_sources=2),
    }
    found = {q.id: library.search(q.question) for q in questions}
    rows = []
    for name, design in variants.items():
        conversation = Conversation(library, generator, design)
        tokens, read, gold_kept = [], [], []
        for q in questions:
            _, messages, included = conversation.prompt(q.question, found[q.id])
            text = "\n".join(m["content"] for m in messages)
            tokens.append(generator.count_tokens(text))
            read.append(len(included))
            gold_kept.append(
                any(matches_gold(s, q.gold, by_page=True) for s in included)
            )
        rows.append(
            {
                "variant": name,
                "questions": len(questions),
                "tokens_mean": round(statistics.mean(tokens)),
                "tokens_p90": round(statistics.quantiles(tokens, n=10)[-1]),
                "passages_mean": round(statistics.mean(read), 2),
                "gold_in_prompt": round(sum(gold_kept) / len(gold_kept), 3),
            }
        )
    print_rows(rows)
    print_result({"bench": "prompt_tokens", "rows": rows})


if __name__ == "__main__":
    main()

"""The reading adapter on the dev set, in one run: the base model, then each
adapter named (llama.cpp applies the LoRA at run time, so its cost shows in the
time to the first token and the decoding speed), over the same library and the
same questions, answered by the app's own `Conversation` in its default design.

    ASSISTANT_HOME=DEV_LIBRARY_HOME python bench/reading_adapter.py \\
        [--questions FILE] [--adapter NAME=PATH ...] [--limit N]

Default adapter: the shipped one (resources/models/reading-adapter/adapter.gguf).
Prints per configuration the `assistant eval` summary's figures (keyword
accuracy per kind, conversion, abstention, wrong refusals, grounded fact
claims, first token, decode tokens/s) as one table and one JSON line
(prefix ``BENCH``). About 40 minutes a configuration on 2 cores.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from report import DEVSET_QUESTIONS, print_result, print_rows

HERE = Path(__file__).parent
SHIPPED = HERE.parent / "resources/models/reading-adapter/adapter.gguf"
FIGURES = (
    "keyword_accuracy",
    "conversion",
    "abstention",
    "wrong_refusals",
    "fact_claims_grounded",
    "first_token_s",
    "decode_tok_s",
)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--questions", type=Path, default=DEVSET_QUESTIONS)
    parser.add_argument(
        "--adapter",
        action="append",
        default=[],
        metavar="NAME=PATH",
        help=f"repeatable (default: shipped={SHIPPED})",
    )
    parser.add_argument("--limit", type=int, default=0)
    args = parser.parse_args()
    if "ASSISTANT_HOME" not in os.environ:
        sys.exit("set ASSISTANT_HOME to the dev set's library home")
    adapters = [a.split("=", 1) for a in args.adapter] or [["shipped", str(SHIPPED)]]

    from assistant.core.answer.evaluation import load_questions, run_eval, summarize
    from assistant.core.config import Settings
    from assistant.core.services.components import load_generator
    from assistant.core.services.conversation import Conversation
    from assistant.core.services.library import Library
    from assistant.core.services.question_search import search_question
    from assistant.core.types import Answer, Source

    settings = Settings()
    library = Library.open(settings)
    generator = load_generator(settings)
    questions = load_questions(args.questions)
    if args.limit:
        questions = questions[: args.limit]
    conversation = Conversation(library, generator)

    def search(question: str) -> list[Source]:
        return search_question(library, generator, question, None)[0]

    rows: list[dict[str, object]] = []
    for name, path in [["base", ""], *adapters]:
        adapter = Path(path) if path else None

        def answer(question: str, adapter: Path | None = adapter) -> Answer:
            return conversation.ask_alone(question, adapter)

        summary = summarize(run_eval(questions, search, answer))
        for kind, entry in summary.items():
            rows.append(
                {"model": name, "kind": kind}
                | {f: entry[f] for f in FIGURES if f in entry}
            )
    print_rows(rows)
    print_result(
        {"bench": "reading_adapter", "questions": len(questions), "rows": rows}
    )


if __name__ == "__main__":
    main()

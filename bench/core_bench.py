"""Core engine figures on a real PDF corpus: ingest speed, truncation, and answer
latency through the app versus bare llama-cpp-python, in one run.

    python bench/core_bench.py [CORPUS_DIR] [--questions N]

Prints a table and one JSON line (prefix ``BENCH``).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from report import print_result

HERE = Path(__file__).parent
QUESTIONS = [
    ("How do I parse a JSON document from a string?", ["loads"]),
    ("What does the csv DictReader class do?", ["dict"]),
    ("How can I run a subprocess and capture its output?", ["run", "output"]),
    (
        "How do I create a temporary directory that is removed automatically?",
        ["TemporaryDirectory"],
    ),
    ("What does functools.lru_cache do?", ["cache"]),
    ("How do I compute the median of a list of numbers?", ["median"]),
]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("corpus", nargs="?", type=Path, default=HERE / "out" / "corpus")
    parser.add_argument("--questions", type=int, default=4)
    parser.add_argument("--chat-model", default="", help="alias or .gguf path")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="keep the index in bench/out/home between runs (ingest figures are then "
        "only meaningful on the first run)",
    )
    args = parser.parse_args()
    if not any(args.corpus.glob("*.pdf")):
        from corpus import main as build  # type: ignore[import-not-found]

        sys.argv = ["corpus", str(args.corpus)]
        build()
    home = HERE / "out" / "home" if args.reuse else tempfile.mkdtemp(prefix="bench-")
    os.environ["ASSISTANT_HOME"] = str(home)

    from assistant.core.answer.prompt import build_messages
    from assistant.core.config import Settings
    from assistant.core.services.components import load_embedder, load_generator
    from assistant.core.services.conversation import Conversation
    from assistant.core.services.library import Library

    settings = Settings()
    embedder = load_embedder(settings)
    library = Library(settings, embedder)
    started = time.perf_counter()
    report = library.ingest(sorted(args.corpus.glob("*.pdf")))
    library.complete_index()  # (a staged index's second stage)
    ingest_s = time.perf_counter() - started
    assert report.ok, report.failed

    texts = library.store.scan(["title", "heading", "text"]).to_pylist()
    from assistant.core.ingest.chunking import row_embed_text

    embed_texts = [row_embed_text(r) for r in texts]
    counts = embedder.count_tokens(embed_texts)
    truncated = sum(c > embedder.max_tokens for c in counts) / len(counts)
    bare_encode_s = float("nan")
    if report.chunks_embedded:
        started = time.perf_counter()
        embedder.embed(embed_texts)
        bare_encode_s = time.perf_counter() - started

    generator = load_generator(
        settings.model_copy(update={"chat_model": args.chat_model})
    )
    llm = generator.llama
    rows = []
    for question, keywords in QUESTIONS[: args.questions]:
        sources = library.search(question)
        messages, _ = build_messages(
            question,
            sources,
            [],
            generator.count_tokens,
            generator.context_length,
            settings.max_answer_tokens,
        )
        prompt_tokens = sum(generator.count_tokens(m["content"]) for m in messages)
        llm.reset()
        t0 = time.perf_counter()
        first = None
        n = 0
        for part in llm.create_chat_completion(
            messages=messages,
            stream=True,
            max_tokens=64,
            temperature=settings.temperature,
        ):
            if part["choices"][0]["delta"].get("content"):
                n += 1
                first = first or time.perf_counter()
        end = time.perf_counter()
        bare_ttft = ((first or end) - t0) * 1000
        bare_tps = (n - 1) / (end - first) if first and n > 1 else 0.0
        llm.reset()
        conversation = Conversation(library, generator)
        answer = conversation.ask(question)
        # second turn: follow-up in the same conversation reuses the KV cache
        follow = conversation.ask("Can you give a short example?")
        # the same second turn again, with the KV cache cleared
        conversation.history.pop()
        llm.reset()
        cold = conversation.ask("Can you give a short example?")
        rows.append(
            {
                "prompt_tokens": prompt_tokens,
                "retrieval_ms": answer.timings["retrieval_ms"],
                "ttft_ms": answer.timings["ttft_ms"],
                "bare_ttft_ms": bare_ttft,
                "tokens_per_s": answer.timings["tokens_per_s"],
                "bare_tokens_per_s": bare_tps,
                "second_turn_ttft_ms": follow.timings["ttft_ms"],
                "second_turn_ttft_no_reuse_ms": cold.timings["ttft_ms"],
                "cited": len(answer.cited),
                "keywords": all(k.lower() in answer.text.lower() for k in keywords),
            }
        )

    def mean(key: str) -> float:
        return sum(r[key] for r in rows) / len(rows)

    result = {
        "pdf_files": len(list(args.corpus.glob("*.pdf"))),
        "pages": report.pages,
        "chunks": report.chunks_embedded,
        "ingest_s": round(ingest_s, 2),
        "pages_per_s": round(report.pages / ingest_s, 2),
        "chunks_per_s": round(report.chunks_embedded / ingest_s, 2),
        "embedded_tokens_per_s": round(report.tokens_embedded / ingest_s, 1),
        "truncated_share": truncated,
        "bare_encode_s": round(bare_encode_s, 2),
        "ingest_over_bare_encode": round(ingest_s / bare_encode_s, 3),
        "chat_model": generator.name,
        "questions": len(rows),
        "mean_prompt_tokens": round(mean("prompt_tokens")),
        "retrieval_ms": round(mean("retrieval_ms"), 1),
        "ttft_ms": round(mean("ttft_ms")),
        "bare_ttft_ms": round(mean("bare_ttft_ms")),
        "tokens_per_s": round(mean("tokens_per_s"), 1),
        "bare_tokens_per_s": round(mean("bare_tokens_per_s"), 1),
        "second_turn_ttft_ms": round(mean("second_turn_ttft_ms")),
        "second_turn_ttft_no_reuse_ms": round(mean("second_turn_ttft_no_reuse_ms")),
        "answers_with_citations": sum(r["cited"] > 0 for r in rows),
        "answers_with_keywords": sum(r["keywords"] for r in rows),
    }
    print_result(result)


if __name__ == "__main__":
    main()

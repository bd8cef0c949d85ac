"""Command line over the same services the window uses.

``assistant`` alone opens the window; subcommands ingest, ask, chat, search, list
and remove documents, and print diagnostics.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from assistant.cli_shared import cancel_on_interrupt, open_conversation, open_library
from assistant.cli_teach import add_commands
from assistant.core.answer.reading_time import QUOTES_HEADING
from assistant.core.cancel import CancelToken
from assistant.core.config import (
    Settings,
    backend_info,
    data_dir,
    index_dir,
    library_location,
    load_settings,
)
from assistant.core.errors import AssistantError
from assistant.core.fsutil import shown_name
from assistant.core.types import (
    ANSWER_MODES,
    Answer,
    IngestProgress,
    IngestReport,
    Source,
    page_noun,
    shorten,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from assistant.core.answer.reading_time import ReadingPlan
    from assistant.core.ingest.staged_index import CompletionProgress
    from assistant.core.services.folder_sync import Changes, SyncReport
    from assistant.core.services.library import Library


def _print_json(value: Any) -> None:
    print(json.dumps(value, ensure_ascii=False, indent=None))


def _print_sources(sources: Sequence[Source], cited: Sequence[int] = ()) -> None:
    for source in sources:
        mark = "*" if source.n in cited else " "
        print(f"{mark}[{source.n}] {source.location()}: {shorten(source.text, 100)}")


# ---- commands -------------------------------------------------------------------
def cmd_ingest(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.core.services.folder_sync import WatchedFolders

    library = open_library(settings)
    WatchedFolders(library.store.directory).include(args.paths)  # added again
    bar: Any = None
    if not args.json and sys.stderr.isatty():
        from tqdm import tqdm

        bar = tqdm(
            total=0,
            unit="B",
            unit_scale=True,
            file=sys.stderr,
            bar_format="{l_bar}{bar}| {n_fmt}/{total_fmt} [{elapsed}<{remaining}]",
        )

    def on_progress(p: IngestProgress) -> None:
        if bar is None:
            return
        bar.total = p.bytes_total
        bar.n = int(p.bytes_progress)
        bar.set_description(
            f"{p.files_done}/{p.files_total} files, "
            + (f"{summary}, " if (summary := p.pages_summary()) else "")
            + f"{p.chunks_done} chunks",
            refresh=False,
        )
        bar.refresh()

    def on_completion(p: CompletionProgress) -> None:
        if bar is not None:
            bar.total, bar.n = p.total, p.done
            bar.set_description("searchable by meaning; " + p.summary(), refresh=False)
            bar.refresh()

    with cancel_on_interrupt() as cancel:
        report = library.ingest(
            args.paths, progress=on_progress, cancel=cancel, force=args.force
        )
        if bar is not None:
            bar.unit, bar.unit_scale = "passage", False
        _complete(library, report, cancel, on_completion)
    if bar is not None:
        bar.close()
    if args.json:
        _print_json(report.to_json())
    else:
        _print_report(report)
    return 0 if report.ok else 1


def _complete(
    library: Library,
    report: IngestReport,
    cancel: CancelToken,
    progress: Callable[[CompletionProgress], None] | None = None,
) -> None:
    """A staged index's second stage after an ingest that was not stopped (the
    command ends with the index complete), its figures in ``report``."""
    if report.cancelled or not library.store.count_pending_vectors():
        return
    completion = library.complete_index(progress, cancel)
    report.completed_chunks = completion.chunks
    report.complete_s = report.seconds + completion.seconds
    report.cancelled = completion.cancelled


def _print_report(report: IngestReport) -> None:
    for failure in report.failed:
        print(f"error: {failure}", file=sys.stderr)
    for note in report.notes:
        print(f"note: {note}", file=sys.stderr)
    print(
        f"{report.counts()}; {report.pages} pages, "
        f"{report.chunks_embedded} chunks embedded ({report.chunks_reused} reused)"
        + (
            f" and {report.sentences_embedded} sentences"
            if report.sentences_embedded
            else ""
        )
        + f" in {report.seconds:.1f} s"
        + (
            f"; complete (passages encoded whole) in {report.complete_s:.1f} s"
            if report.complete_s
            else ""
        )
        + (" — stopped by the user" if report.cancelled else "")
    )


def _print_sync(report: SyncReport) -> None:
    for note in report.notes:
        print(f"note: {note}", file=sys.stderr)
    for path in report.removed:
        print(f"removed {shown_name(path)} (deleted from its folder)")
    _print_report(report.ingest)


def cmd_watch(args: argparse.Namespace, settings: Settings) -> int:
    """Add folders to the watched ones, bring the library in line with every
    watched folder, then (without --once) follow their changes until Ctrl+C."""
    import threading

    from assistant.core.services.folder_sync import (
        FolderWatcher,
        WatchedFolders,
        apply_changes,
        rescan,
        unreadable,
    )

    library = open_library(settings)
    watched = WatchedFolders(library.store.directory)
    for folder in args.folders:
        why = unreadable(Path(folder).expanduser().resolve())
        if why and Path(folder).expanduser().exists():
            print(f"error: {why.split(';')[0]}", file=sys.stderr)
            return 1
        if not Path(folder).expanduser().is_dir():
            print(f"error: {folder}: not a folder", file=sys.stderr)
            return 1
        print(f"watching {watched.add(Path(folder))}")
    folders = watched.folders()
    if not folders:
        print("No folders are watched. Add one with: assistant watch FOLDER")
        return 0
    with cancel_on_interrupt() as cancel:
        report = rescan(library, folders, cancel=cancel, excluded=watched.excluded())
        _complete(library, report.ingest, cancel)
    _print_sync(report)
    if args.once or cancel.cancelled:
        return 0 if report.ingest.ok else 1
    lock = threading.Lock()

    def on_changes(changes: Changes) -> None:
        with lock:
            synced = apply_changes(
                library, changes, watched.folders(), excluded=watched.excluded()
            )
            _complete(library, synced.ingest, CancelToken())
            _print_sync(synced)

    watcher = FolderWatcher(on_changes)
    for folder in folders:
        why = watcher.watch(folder)
        if why:
            print(f"note: {why}", file=sys.stderr)
    watcher.start()
    print("Following changes; Ctrl+C stops.", file=sys.stderr)
    with cancel_on_interrupt() as stop:
        while not stop.cancelled:
            time.sleep(0.2)
    watcher.stop()
    return 0


def cmd_unwatch(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.core.services.folder_sync import WatchedFolders

    watched = WatchedFolders(open_library(settings).store.directory)
    status = 0
    for folder in args.folders:
        if watched.remove(Path(folder)):
            print(f"no longer watching {folder} (its documents stay in the library)")
        else:
            print(f"error: {folder} is not a watched folder", file=sys.stderr)
            status = 1
    return status


def cmd_folders(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.core.services.folder_sync import WatchedFolders, unreadable

    folders = WatchedFolders(open_library(settings).store.directory).folders()
    if args.json:
        _print_json([{"folder": str(f), "problem": unreadable(f)} for f in folders])
        return 0
    if not folders:
        print("No folders are watched. Add one with: assistant watch FOLDER")
    for folder in folders:
        why = unreadable(folder)
        print(f"{folder}" + (f"  ({why.split(': ', 1)[1]})" if why else ""))
    return 0


def _add_scope(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--in",
        dest="within",
        action="append",
        default=[],
        metavar="PATH_OR_GLOB",
        help="only these documents: a file or folder in the library, or a pattern "
        "such as '*.pdf' (repeat for more)",
    )


def cmd_search(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.core.search_text import is_cjk_text
    from assistant.core.services.components import load_generator
    from assistant.core.services.question_search import search_question

    library = open_library(settings)
    # a Chinese query is also searched in English: the chat model translates it
    # (and then adds its terms); an English one is searched alone, without the
    # wait for the chat model to load
    within = library.scope(args.within)  # before the chat model: a typo fails fast
    generator = load_generator(settings) if is_cjk_text(args.query) else None
    sources, _ = search_question(
        library, generator, args.query, args.top_k, within=within
    )
    if args.json:
        _print_json(
            {
                "sources": [s.to_json() for s in sources],
                "timings": library.retriever.last_timings,
            }
        )
    elif not sources:
        print("No matching passages.")
    else:
        _print_sources(sources)
    return 0


def _stream(
    conversation: Any,
    question: str,
    top_k: int | None,
    echo: bool,
    mode: str = "rag",
    adapter: Path | None = None,
    within: Any = None,
) -> Answer:
    with cancel_on_interrupt() as cancel:

        def on_token(token: str) -> None:
            if echo:
                print(token, end="", flush=True)

        def on_sources(plan: ReadingPlan) -> None:
            """Something true to read during the wait (on a terminal only)."""
            if echo and plan.quotes and sys.stderr.isatty():
                lines = [f"  \u201c{line}\u201d [{n}]" for n, line in plan.quotes]
                print(
                    QUOTES_HEADING,
                    *lines,
                    sep="\n",
                    file=sys.stderr,
                    flush=True,
                )

        answer: Answer = conversation.ask(
            question,
            on_token=on_token,
            on_sources=on_sources,
            cancel=cancel,
            top_k=top_k,
            mode=mode,
            adapter=adapter,
            within=within,
        )
    if echo:
        print()
    return answer


def cmd_ask(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.cli_teach import adapter_for

    adapter = adapter_for(settings, args.mode, args.adapter)
    conversation = open_conversation(settings)
    answer = _stream(
        conversation,
        args.question,
        args.top_k,
        echo=not args.json,
        mode=args.mode,
        adapter=adapter,
        within=conversation.library.scope(args.within),
    )
    if args.json:
        _print_json(answer.to_json())
    else:
        if answer.interrupted:
            print(f"({answer.interrupted})")
        elif answer.stopped:
            print("(stopped)")
        _print_checked(answer)
        if answer.sources:
            print("\nSources:")
            _print_sources(answer.sources, answer.cited)
    return 0


def _print_checked(answer: Answer) -> None:
    """After the streamed reply: what checking it against the sources made of it."""
    if answer.withheld:
        print(f"\n(not supported by your documents) {answer.text}")
        return
    if answer.claims and answer.text != answer.raw.strip():
        print(f"\nWith citations: {answer.text}")
    by_n = {s.n: s for s in answer.sources}
    unsupported = [c for c in answer.claims if not c.supported]
    for claim in unsupported:
        if (
            claim.verdict == "contradicted"
            and claim.evidence[:1]
            and claim.evidence[0].n in by_n
        ):
            e = claim.evidence[0]
            said = shorten(by_n[e.n].text[e.start : e.end], 200)
            print(
                f"warning: source [{e.n}] contradicts: \u201c{claim.text}\u201d "
                f"\u2014 it says \u201c{said}\u201d"
            )
        else:
            print(f"warning: no source states: \u201c{claim.text}\u201d")
    if unsupported:
        print("Check these before relying on them.")
    elif answer.unsupported:
        figures = ", ".join(answer.unsupported)
        print(
            f"warning: not found in any source: {figures}. Check before relying on it."
        )


def cmd_chat(args: argparse.Namespace, settings: Settings) -> int:
    conversation = open_conversation(settings)
    within = conversation.library.scope(args.within)
    print("Ask about your documents. /reset starts over, /quit (or Ctrl+D) leaves.")
    if within is not None:
        print(f"Only in: {within.describe(5)}")
    while True:
        try:
            question = input("\n> ").strip()
        except EOFError:
            print()
            return 0
        if not question:
            continue
        if question in ("/quit", "/exit"):
            return 0
        if question == "/reset":
            conversation.reset()
            print("(conversation cleared)")
            continue
        try:
            answer = _stream(
                conversation, question, args.top_k, echo=True, within=within
            )
        except AssistantError as exc:  # e.g. a question too long: the chat goes on
            print(f"error: {exc}", file=sys.stderr)
            continue
        _print_checked(answer)
        if answer.sources:
            _print_sources(answer.sources, answer.cited)


def cmd_docs(args: argparse.Namespace, settings: Settings) -> int:
    documents = open_library(settings).documents()
    if args.json:
        _print_json([d.__dict__ for d in documents])
        return 0
    if not documents:
        print("The library is empty. Add files with: assistant ingest PATH")
    for d in documents:
        pages = f"{d.pages} {page_noun(d.path)}s, " if d.pages else ""
        print(f"{shown_name(d.path)}  ({d.kind}, {pages}{d.chunks} chunks)")
    return 0


def cmd_remove(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.core.services.folder_sync import remove_from_library

    library = open_library(settings)
    status = 0
    for path in args.paths:
        if remove_from_library(library, Path(path)):
            print(f"removed {path}")
        else:
            print(f"error: {path} is not in the library", file=sys.stderr)
            status = 1
    return status


def cmd_reindex(args: argparse.Namespace, settings: Settings) -> int:
    """Rebuild the index from the original files (e.g. after changing embedder),
    beside the old one: Ctrl+C or a crash leaves the old index as it was."""
    from assistant.core.services.rebuild import rebuild_index

    with cancel_on_interrupt() as cancel:
        report = rebuild_index(settings, library_location(settings), cancel=cancel)
        _complete(open_library(settings), report, cancel)
    for failure in report.failed:
        print(f"error: {failure}", file=sys.stderr)
    if report.cancelled:
        print("Stopped by the user; the library is as it was before the re-index.")
        return 1
    print(
        f"{len(report.added)} documents re-indexed, {len(report.failed)} failed; "
        f"{report.chunks_embedded} chunks embedded in {report.seconds:.1f} s"
    )
    return 0 if report.ok else 1


def cmd_eval(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.core.answer.evaluation import load_questions, run_eval, summarize

    if args.mode:
        settings = settings.model_copy(update={"retrieval_mode": args.mode})
    if args.reranker is not None:
        settings = settings.model_copy(update={"reranker_model": args.reranker})
    from assistant.core.search_text import is_cjk_text
    from assistant.core.services.components import load_generator
    from assistant.core.services.question_search import search_question

    questions = load_questions(Path(args.questions))
    library = open_library(settings)
    # the chat model translates CJK questions for the search, as when answering
    needs_model = (
        not args.no_generate
        or settings.question_terms
        or any(is_cjk_text(q.question) for q in questions)
    )
    generator = load_generator(settings) if needs_model else None

    def search(question: str) -> list[Source]:
        return search_question(library, generator, question, args.top_k)[0]

    answer = None
    if generator is not None and not args.no_generate:
        from assistant.core.services.conversation import Conversation

        conversation = Conversation(
            library, generator, decline_unsupported=not args.keep_unsupported
        )

        adapter = Path(args.adapter) if args.adapter else None

        def answer(question: str) -> Answer:
            return conversation.ask_alone(question, adapter)

    def on_progress(done: int, total: int) -> None:
        if sys.stderr.isatty():
            print(f"\r{done}/{total} questions", end="", file=sys.stderr, flush=True)

    results = run_eval(questions, search, answer, on_progress)
    print(file=sys.stderr)
    if args.out:
        Path(args.out).write_text(
            "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in results),
            encoding="utf-8",
        )
    summary = summarize(results)
    if args.json:
        _print_json(summary)
    else:
        _print_summary(summary)
    return 0


def _print_summary(summary: dict[str, dict[str, float]]) -> None:
    keys = list(dict.fromkeys(k for entry in summary.values() for k in entry))
    width = max(10, *(len(name) + 2 for name in summary))
    print(f"{'metric':<24}" + "".join(f"{name:>{width}}" for name in summary))
    for key in keys:
        cells = "".join(
            f"{summary[name].get(key, float('nan')):>{width}.3g}" for name in summary
        )
        print(f"{key:<24}{cells}")


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    import os

    from assistant.core.services.components import load_generator
    from assistant.serve import check_binding, serve

    token = args.token or os.environ.get("ASSISTANT_SERVE_TOKEN", "")
    check_binding(args.host, token)
    library = open_library(settings)
    generator = load_generator(settings)
    print(
        f"Serving the library ({len(library.documents())} documents, answers by "
        f"{generator.name}) at http://{args.host}:{args.port}/v1 as model "
        "'assistant'",
        file=sys.stderr,
        flush=True,
    )
    serve(library, generator, args.host, args.port, token)
    return 0


def cmd_info(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.core.model_files import resolve_chat_model, resolve_embedder
    from assistant.core.versions import package_versions

    info: dict[str, Any] = {"data_dir": str(data_dir()), "index_dir": str(index_dir())}
    info.update(backend_info(settings))
    try:
        chat_path = resolve_chat_model(settings.chat_model)
        info["chat_model"] = str(chat_path)
        info["chat_model_context_length"] = _gguf_context_length(chat_path)
        info["context_length"] = settings.context_length
    except AssistantError as exc:
        info["chat_model"] = f"unavailable: {exc}"
    try:
        path, name = resolve_embedder(settings.embedding_model)
        info["embedder"] = name
        info["embedder_path"] = str(path)
    except AssistantError as exc:
        info["embedder"] = f"unavailable: {exc}"
    try:
        library = open_library(settings)
        documents = library.documents()
        info["documents"] = len(documents)
        info["chunks"] = sum(d.chunks for d in documents)
        info["sentence_vectors"] = library.store.count_sentences()
    except AssistantError as exc:
        info["documents"] = f"unavailable: {exc}"
    info["python"] = sys.version.split()[0]
    info["packages"] = package_versions()
    if args.json:
        _print_json(info)
    else:
        for key, value in info.items():
            print(f"{key}: {value}")
    return 0


def _gguf_context_length(path: Path) -> int | None:
    from gguf import GGUFReader

    fields = GGUFReader(str(path)).fields
    arch = fields.get("general.architecture")
    field = fields.get(f"{arch.contents()}.context_length") if arch else None
    return int(field.contents()) if field is not None else None


def cmd_window(args: argparse.Namespace, settings: Settings) -> int:
    import os

    headless = not any(
        os.environ.get(v) for v in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")
    )
    if sys.platform.startswith("linux") and headless:
        print(
            "error: no display found, so the window cannot open. Start Assistant "
            "from a desktop session, or use the command line: `assistant --help`.",
            file=sys.stderr,
        )
        return 1
    from assistant.ui.app import run

    return run([sys.argv[0]], getattr(args, "files", []))


# ---- entry point ----------------------------------------------------------------
def _positive(text: str) -> int:
    """An argparse type: a whole number of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1 (got {value})")
    return value


class _Parser(argparse.ArgumentParser):
    """Exit status 1 for a refused command line too: every error is 1, Ctrl+C 130."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(1, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="assistant",
        description="Chat with your documents, offline, with citations.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log details")
    sub = parser.add_subparsers(dest="command")

    p = sub.add_parser("ingest", help="add files or folders to the library")
    p.add_argument("paths", nargs="+")
    p.add_argument("--json", action="store_true")
    p.add_argument("--force", action="store_true", help="re-embed even unchanged files")
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("ask", help="answer one question from the library")
    p.add_argument("question")
    p.add_argument("--top-k", type=_positive, default=None)
    p.add_argument(
        "--mode",
        choices=ANSWER_MODES,
        default="rag",
        help="base: model alone; rag: with sources; sft: fine-tuned adapter; "
        "rag+sft: both",
    )
    p.add_argument("--adapter", help="adapter name for sft modes (default: last)")
    _add_scope(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_ask)

    p = sub.add_parser("chat", help="multi-turn conversation")
    p.add_argument("--top-k", type=_positive, default=None)
    _add_scope(p)
    p.set_defaults(func=cmd_chat)

    p = sub.add_parser("search", help="retrieval only, no generation")
    p.add_argument("query")
    p.add_argument("--top-k", type=_positive, default=None)
    _add_scope(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_search)

    p = sub.add_parser("docs", help="list documents in the library")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_docs)

    p = sub.add_parser("remove", help="remove documents from the library")
    p.add_argument("paths", nargs="+")
    p.set_defaults(func=cmd_remove)

    p = sub.add_parser(
        "watch", help="keep folders in sync: index their changes as they happen"
    )
    p.add_argument("folders", nargs="*", help="folders to add (default: the watched)")
    p.add_argument(
        "--once", action="store_true", help="sync the watched folders, then exit"
    )
    p.set_defaults(func=cmd_watch)

    p = sub.add_parser("unwatch", help="stop keeping a folder in sync")
    p.add_argument("folders", nargs="+")
    p.set_defaults(func=cmd_unwatch)

    p = sub.add_parser("folders", help="list the watched folders")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_folders)

    p = sub.add_parser("reindex", help="rebuild the index (after changing embedder)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_reindex)

    p = sub.add_parser("eval", help="score retrieval and answers on a question set")
    p.add_argument("questions", help="JSONL: id, question, gold, answer_keywords")
    p.add_argument("--out", help="write per-question results (JSONL) here")
    p.add_argument("--no-generate", action="store_true", help="retrieval only")
    p.add_argument(
        "--top-k", type=_positive, default=10, help="passages scored (hit@k)"
    )
    p.add_argument("--mode", choices=["hybrid", "vector", "text"], default=None)
    p.add_argument(
        "--keep-unsupported",
        action="store_true",
        help="keep answers no passage supports instead of declining",
    )
    p.add_argument(
        "--reranker",
        help="re-rank with this cross-encoder folder or chat model (.gguf or name); "
        "'' = none (default: the settings)",
    )
    p.add_argument(
        "--adapter",
        help="answer with this GGUF LoRA adapter applied (e.g. a reading adapter)",
    )
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser(
        "serve", help="answer from the library over an OpenAI-compatible API"
    )
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8765)
    p.add_argument(
        "--token",
        default="",
        help="API key clients must send (required off localhost; default: "
        "ASSISTANT_SERVE_TOKEN)",
    )
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("info", help="paths, models and versions for bug reports")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_info)
    add_commands(sub)
    return parser


COMMANDS = {
    "ingest", "ask", "chat", "search", "docs", "remove", "reindex", "eval", "info",
    "watch", "unwatch", "folders", "serve",
    "teach", "finetune", "adapters", "compare",
}  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    from assistant.core.fsutil import private_files

    private_files()
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    if argv and argv[0] not in COMMANDS and all(Path(a).exists() for a in argv):
        # `assistant FILE...` (how a desktop entry passes files): open the window
        # and add them
        return cmd_window(argparse.Namespace(files=argv), load_settings())
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    func = getattr(args, "func", cmd_window)
    try:
        return int(func(args, load_settings()))
    except AssistantError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # the second Ctrl+C: quit now, without a traceback
        print("\nStopped.", file=sys.stderr)
        return 130
    except OSError as exc:  # a file named on the command line, the data folder
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"error: {where}{exc.strerror or exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())

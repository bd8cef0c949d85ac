"""A 2,400-page PDF through ``Library.ingest`` (the CLI's path), each configuration
in its own child process: time until the first pages are searchable, until every
page is found by its words (the last page's text finds it by full text),
until the whole document is searchable by meaning, until its index is complete
(a staged index's second stage), peak RSS; and resume after a SIGKILL
mid-document (what the rerun reused and embedded, and how long it took).

    python bench/big_pdf.py [--pdf /usr/share/R/doc/manual/fullrefman.pdf]
        [--configs default,no-sentences] [--kill-at 60 (0: no resume run)]

The R reference manual comes with Debian's ``r-doc-pdf``. Prints a table and one
JSON line (prefix ``BENCH``).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from report import print_result, print_rows

from assistant.core.index.store import ChunkStore
from assistant.core.ingest.pipeline import doc_id_for

R_MANUAL = Path("/usr/share/R/doc/manual/fullrefman.pdf")
CONFIGS = {
    "default": {"chunk_vectors": "staged"},
    "encoded": {"chunk_vectors": "encoded"},
    "no-sentences": {"sentence_vectors": False},
    "multilingual-sentences": {"sentence_model": "multilingual"},
    "pooled-sentences": {"sentence_model": "pooled"},
    "batch-32": {"embed_batch": 32},
}
"""``embed_batch``: the MiniLM encoder's batch size (default 8, before 32), not an
ingest option: its working memory grows with the batch."""


def child(pdf: Path, index: Path, config: str) -> None:
    """Ingest ``pdf`` into ``index``; print one JSON line of figures per event."""
    from assistant.core.config import load_settings
    from assistant.core.ingest.pipeline import IngestOptions, run_ingest
    from assistant.core.services.library import Library
    from assistant.core.types import IngestProgress

    started = time.perf_counter()
    settings = load_settings()
    library = Library.open(settings, directory=index)
    chosen = dict(CONFIGS[config])
    batch = chosen.pop("embed_batch", None)
    if batch is not None:
        english = getattr(library.embedder, "english", library.embedder)
        english.batch_size = int(batch)  # type: ignore[attr-defined]
    options = IngestOptions(
        chunk_tokens=settings.chunk_tokens,
        chunk_overlap=settings.chunk_overlap,
        max_file_bytes=2**40,
        **chosen,  # type: ignore[arg-type]
    )
    loaded = time.perf_counter()
    first: dict[str, float] = {}
    last_check = [0.0]

    def say(**fields: object) -> None:
        print(json.dumps(fields), flush=True)

    def progress(state: IngestProgress) -> None:
        now = time.perf_counter()
        if "words" in first or now - last_check[0] < 0.25:
            return
        last_check[0] = now
        if "s" not in first and library.store.count_chunks():
            hits = library.store.text_search("function", 1)
            first["s"] = now - loaded
            say(event="first", seconds=round(now - loaded, 1), hits=len(hits))
        if state.pages_total and state.pages_read >= state.pages_total:
            found = _last_page_found(library.store, pdf, state.pages_total)
            first["words"] = now - loaded
            say(event="words", seconds=round(now - loaded, 1), last_page_found=found)

    say(event="loaded", seconds=round(loaded - started, 1))
    report = run_ingest([pdf], library.store, library.embedder, options, progress)
    done = time.perf_counter()
    say(
        event="done",
        seconds=round(done - loaded, 1),
        chunks_embedded=report.chunks_embedded,
        chunks_reused=report.chunks_reused,
        sentences=report.sentences_embedded,
        pages=report.pages,
        peak_rss_mb=round(_peak_rss_mb()),
        ok=report.ok,
    )
    if library.store.count_pending_vectors():  # a staged index's second stage
        completion = library.complete_index()
        say(
            event="complete",
            seconds=round(time.perf_counter() - loaded, 1),
            encoded_whole=completion.chunks,
            peak_rss_mb=round(_peak_rss_mb()),
        )


def _last_page_found(store: ChunkStore, pdf: Path, page: int) -> bool:
    """Whether the first 40 words of the page's last chunk find that page first by
    full text (a single word of a manual's index page is on many other pages)."""
    rows = store.page_chunks(doc_id_for(pdf), page)
    if not rows:
        return False
    query = " ".join(str(rows[-1]["text"]).split()[:40])
    hits = store.text_search(query, 5)
    return bool(hits) and hits[0]["page"] == page


def _peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def run_child(
    pdf: Path, index: Path, config: str, kill_at: float | None = None
) -> dict[str, dict[str, object]]:
    process = subprocess.Popen(
        [sys.executable, __file__, "--child", str(pdf), str(index), config],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    events: dict[str, dict[str, object]] = {}
    started = time.monotonic()
    if kill_at is not None:
        os.set_blocking(process.stdout.fileno(), False)
    while True:
        line = process.stdout.readline()
        if line:
            event = json.loads(line)
            events[str(event["event"])] = event
            continue
        if process.poll() is not None:
            break
        if kill_at is not None:
            if time.monotonic() - started >= kill_at:
                process.send_signal(signal.SIGKILL)
                process.wait()
                events["killed"] = {"seconds": round(time.monotonic() - started, 1)}
                break
            time.sleep(0.1)
    return events


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pdf", type=Path, default=R_MANUAL)
    parser.add_argument("--configs", default="default,encoded")
    parser.add_argument("--kill-at", type=float, default=60.0)
    parser.add_argument("--child", nargs=3)
    args = parser.parse_args()
    if args.child:
        child(Path(args.child[0]), Path(args.child[1]), args.child[2])
        return
    if not args.pdf.exists():
        sys.exit(f"{args.pdf} missing: apt-get install r-doc-pdf, or pass --pdf")
    os.environ["ASSISTANT_HOME"] = tempfile.mkdtemp(prefix="assistant-bigpdf-")
    rows = []
    for config in args.configs.split(","):
        index = Path(tempfile.mkdtemp(prefix=f"bigpdf-{config}-"))
        events = run_child(args.pdf, index, config)
        done, first = events.get("done", {}), events.get("first", {})
        rows.append(
            {
                "run": config,
                "first_searchable_s": first.get("seconds"),
                "all_pages_by_words_s": events.get("words", {}).get("seconds"),
                "last_page_found": events.get("words", {}).get("last_page_found"),
                "by_meaning_s": done.get("seconds"),
                "complete_s": events.get("complete", done).get("seconds"),
                "peak_rss_mb": events.get("complete", done).get("peak_rss_mb"),
                "chunks": done.get("chunks_embedded"),
                "sentences": done.get("sentences"),
                "pages": done.get("pages"),
            }
        )
    if args.kill_at > 0:
        rows.append(_resume_row(args.pdf, args.kill_at))
    print_rows(rows)
    print_result({"pdf": str(args.pdf), "cpus": os.cpu_count(), "runs": rows})


def _resume_row(pdf: Path, kill_at: float) -> dict[str, object]:
    index = Path(tempfile.mkdtemp(prefix="bigpdf-resume-"))
    killed = run_child(pdf, index, "default", kill_at=kill_at)
    resumed = run_child(pdf, index, "default")
    done = resumed.get("done", {})
    return {
        "run": f"default, SIGKILL at {killed.get('killed', {}).get('seconds')} s, "
        "then rerun",
        "first_searchable_s": resumed.get("first", {}).get("seconds"),
        "all_pages_by_words_s": resumed.get("words", {}).get("seconds"),
        "by_meaning_s": done.get("seconds"),
        "complete_s": resumed.get("complete", done).get("seconds"),
        "peak_rss_mb": done.get("peak_rss_mb"),
        "chunks": done.get("chunks_embedded"),
        "sentences": done.get("sentences"),
        "pages": done.get("pages"),
        "chunks_reused": done.get("chunks_reused"),
    }


if __name__ == "__main__":
    main()

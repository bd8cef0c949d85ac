"""Start-up, memory and the longest event-loop stall of the real window while it
ingests a PDF and streams an answer (a 10 ms QTimer heartbeat; the stall is the
longest gap between beats; RSS is sampled every 10 ms on a thread of its own),
with the longest pass of Python's cyclic garbage collector in each phase (it
holds the GIL, so a pass in a worker thread stops the event loop too). Each
configuration runs in its own process, side by side:

- ``default``: the app as it is (the heap frozen when the window is built, once
  the models are loaded, every 20 s while indexing and after each ingest:
  ``hardware.freeze_heap``);
- ``no-freeze``: the same with ``gc.freeze`` made a no-op (the app before 12-05).

    QT_QPA_PLATFORM=offscreen python bench/gui_stall.py [PDF]
        [--configs default,no-freeze] [--trace MS]

Prints a table and one JSON line (prefix ``BENCH``). ``--trace MS`` also prints,
for each gap longer than MS, what every other thread was running when a watcher
thread next got the interpreter (the thread that held it is usually among them).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from report import print_result, print_rows

HERE = Path(__file__).parent
CONFIGS = ("default", "no-freeze")
TRACE = sys.stderr
"""Where ``--trace`` writes: a file of its own, as llama.cpp's loading silences
the process's stderr."""


def watch_gaps(limit_ms: float, phase: list[str], last_beat: list[float]) -> None:
    """A thread that wakes every 2 ms. Its own oversleep means some thread held
    the GIL: print what the others were running. A heartbeat older than
    ``limit_ms`` means the event loop is busy: sample the main thread's stack
    until the next beat and print the samples."""
    import collections
    import traceback

    main = threading.main_thread().ident

    def where(frame: object) -> str:
        stack = traceback.extract_stack(frame)[-6:]  # type: ignore[arg-type]
        return " <- ".join(
            f"{Path(f.filename).name}:{f.lineno}:{f.name}" for f in reversed(stack)
        )

    def run() -> None:
        me, last = threading.get_ident(), time.perf_counter()
        names = {t.ident: t.name for t in threading.enumerate()}
        stalled: collections.Counter[str] = collections.Counter()
        beat_seen = last_beat[0]
        while True:
            time.sleep(0.002)
            now = time.perf_counter()
            frames = sys._current_frames()
            if (now - last) * 1000 > limit_ms:
                names = {t.ident: t.name for t in threading.enumerate()}
                lines = [
                    f"GIL-GAP {phase[0]} at {now:.3f} {(now - last) * 1000:.0f} ms"
                ] + [
                    f"  [{names.get(i, i)}] {where(f)}"
                    for i, f in frames.items()
                    if i not in (me, main)
                ]
                print("\n".join(lines), file=TRACE, flush=True)
            if (now - last_beat[0]) * 1000 > limit_ms and main in frames:
                stalled[where(frames[main])] += 1
            elif stalled and last_beat[0] != beat_seen:
                lines = [
                    f"LOOP-BUSY {phase[0]} at {now:.3f}"
                    f" {(now - beat_seen) * 1000:.0f} ms"
                ]
                lines += [f"  {n} x {w}" for w, n in stalled.most_common(4)]
                print("\n".join(lines), file=TRACE, flush=True)
                stalled.clear()
            if not stalled:
                beat_seen = last_beat[0]
            last = now

    threading.Thread(target=run, name="gap-watch", daemon=True).start()


def child(pdf: Path, config: str, trace_ms: float = 0) -> None:
    """One window, one configuration: print its figures as one JSON line."""
    os.environ["ASSISTANT_HOME"] = tempfile.mkdtemp(prefix="assistant-stall-")
    if config == "no-freeze":
        gc.freeze = lambda: None
    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication

    from assistant.core.config import Settings
    from assistant.ui.app import share_the_interpreter
    from assistant.ui.main_window import MainWindow

    share_the_interpreter()  # as the app does at start
    app = QApplication(sys.argv)
    phase = ["startup"]
    last = [time.perf_counter()]
    if trace_ms:
        watch_gaps(trace_ms, phase, last)
    launch = time.perf_counter()
    window = MainWindow(Settings())
    window.show()
    app.processEvents()
    window_shown_s = time.perf_counter() - launch

    import psutil

    process = psutil.Process()
    gaps: dict[str, float] = {}
    gc_passes: dict[str, float] = {}
    peak_rss: dict[str, float] = {}
    gc_started: dict[int, float] = {}
    long_beats: list[tuple[str, float, int]] = []
    last[0] = time.perf_counter()

    def gc_timer(stage: str, info: dict[str, int]) -> None:
        now, thread = time.perf_counter(), threading.get_ident()
        if stage == "start":
            gc_started[thread] = now
            return
        took = (now - gc_started.pop(thread, now)) * 1000
        gc_passes[phase[0]] = max(gc_passes.get(phase[0], 0.0), took)

    gc.callbacks.append(gc_timer)

    def beat() -> None:
        now = time.perf_counter()
        gap = (now - last[0]) * 1000
        gaps[phase[0]] = max(gaps.get(phase[0], 0.0), gap)
        if trace_ms and gap > trace_ms:
            print(
                f"BEAT-GAP {phase[0]} at {now:.3f} {gap:.0f} ms", file=TRACE, flush=True
            )
            long_beats.append((phase[0], round(now, 3), round(gap)))
        last[0] = now

    def sample_rss() -> None:
        """On a thread of its own: reading /proc waits on the process's memory
        map lock, which a model being mapped holds (up to 50 ms in a beat)."""
        while True:
            rss = process.memory_info().rss / 2**20
            peak_rss[phase[0]] = max(peak_rss.get(phase[0], 0.0), rss)
            time.sleep(0.01)

    threading.Thread(target=sample_rss, name="rss", daemon=True).start()

    heartbeat = QTimer()
    heartbeat.setInterval(10)
    heartbeat.timeout.connect(beat)
    heartbeat.start()

    def wait_for(signal: object, timeout_ms: int) -> float:
        started = time.perf_counter()
        loop = QEventLoop()
        signal.connect(loop.quit)  # type: ignore[attr-defined]
        QTimer.singleShot(timeout_ms, loop.quit)
        loop.exec()
        return time.perf_counter() - started

    ready_s = wait_for(window.library.sig_documents_shown, 120000)
    model_s = window_shown_s + ready_s
    waited = time.perf_counter()
    while window.loading_bar.isVisible() and time.perf_counter() - waited < 120:
        # (not sig_model_ready: it may have been sent before the bar is hidden)
        app.processEvents(QEventLoop.ProcessEventsFlag.WaitForMoreEvents, 50)
    model_s += time.perf_counter() - waited
    idle_rss = process.memory_info().rss / 2**20
    phase[0] = "ingest"
    last[0] = time.perf_counter()
    if trace_ms:
        print(f"PHASE ingest at {last[0]:.3f}", file=TRACE, flush=True)
    window.add_paths([str(pdf)])
    ingest_s = wait_for(window.library.worker.sig_ingest_finished, 1200000)
    phase[0] = "answer"
    last[0] = time.perf_counter()
    if trace_ms:
        print(f"PHASE answer at {last[0]:.3f}", file=TRACE, flush=True)
    window.chat.ask("How do I parse a JSON document from a string?")
    answer_s = wait_for(window.chat.sig_answer_shown, 600000)
    heartbeat.stop()
    messages = window.chat_pane.model.messages()
    answer = messages[-1].text if messages else ""
    rows = window.library.documents.rows()
    result = {
        "run": config,
        "window_shown_s": round(window_shown_s, 2),
        "library_ready_s": round(ready_s + window_shown_s, 2),
        "models_ready_s": round(model_s, 2),
        "idle_rss_mb_models_loaded": round(idle_rss),
        "peak_rss_mb_ingest": round(peak_rss.get("ingest", 0)),
        "peak_rss_mb_answer": round(peak_rss.get("answer", 0)),
        "ingest_pages": rows[0].pages if rows else 0,
        "ingest_s": round(ingest_s, 1),
        "answer_s": round(answer_s, 1),
        "answer_chars": len(answer),
        "max_stall_startup_ms": round(gaps.get("startup", 0), 1),
        "max_stall_ingest_ms": round(gaps.get("ingest", 0), 1),
        "max_stall_answer_ms": round(gaps.get("answer", 0), 1),
        "max_gc_pass_startup_ms": round(gc_passes.get("startup", 0), 1),
        "max_gc_pass_ingest_ms": round(gc_passes.get("ingest", 0), 1),
        "max_gc_pass_answer_ms": round(gc_passes.get("answer", 0), 1),
    }
    if trace_ms:
        print(f"LONG BEATS {long_beats}", file=TRACE, flush=True)
    print("RESULT " + json.dumps(result), flush=True)
    window.close()
    # skip the interpreter's teardown: its figures are printed, and the bench
    # measures the window, not the order C extensions are torn down in
    os._exit(0)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "pdf", nargs="?", type=Path, default=HERE / "out/corpus/python-library-1.pdf"
    )
    parser.add_argument("--configs", default=",".join(CONFIGS))
    parser.add_argument("--child")
    parser.add_argument("--trace", type=float, default=0, metavar="MS")
    parser.add_argument("--trace-file", type=Path, default=Path("gui_stall-trace.log"))
    args = parser.parse_args()
    if not args.pdf.exists():
        sys.exit(
            f"{args.pdf} missing: run `python bench/corpus.py bench/out/corpus` first"
        )
    if args.child:
        if args.trace:
            global TRACE
            TRACE = args.trace_file.open("a", encoding="utf-8")
        child(args.pdf, args.child, args.trace)
        return
    rows = []
    for config in args.configs.split(","):
        done = subprocess.run(
            [sys.executable, __file__, str(args.pdf), "--child", config]
            + (
                ["--trace", str(args.trace), "--trace-file", str(args.trace_file)]
                if args.trace
                else []
            ),
            stdout=subprocess.PIPE,
            text=True,
            check=False,
        )
        lines = [
            line for line in done.stdout.splitlines() if line.startswith("RESULT ")
        ]
        rows.append(
            json.loads(lines[-1][7:])
            if lines
            else {"run": config, "error": f"exit {done.returncode}"}
        )
    print_rows(rows)
    print_result({"pdf": str(args.pdf), "cpus": os.cpu_count(), "runs": rows})


if __name__ == "__main__":
    main()

"""Start-up, memory and the longest event-loop stall of the real window while it
ingests a 100-page PDF and streams an answer (a 10 ms QTimer heartbeat; the stall
is the longest gap between beats; RSS is sampled on every beat).

    QT_QPA_PLATFORM=offscreen python bench/gui_stall.py [PDF]

Prints a table and one JSON line (prefix ``BENCH``).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

from report import print_result

HERE = Path(__file__).parent


def main() -> None:
    os.environ["ASSISTANT_HOME"] = tempfile.mkdtemp(prefix="assistant-stall-")
    pdf = (
        Path(sys.argv[1])
        if len(sys.argv) > 1
        else HERE / "out/corpus/python-library-1.pdf"
    )
    if not pdf.exists():
        sys.exit(f"{pdf} missing: run `python bench/corpus.py bench/out/corpus` first")
    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication

    from assistant.config import Settings
    from assistant.ui.app import share_the_interpreter
    from assistant.ui.main_window import MainWindow

    share_the_interpreter()  # as the app does at start
    app = QApplication(sys.argv)
    launch = time.perf_counter()
    window = MainWindow(Settings())
    window.show()
    app.processEvents()
    window_shown_s = time.perf_counter() - launch

    import psutil

    process = psutil.Process()
    gaps: dict[str, float] = {}
    peak_rss: dict[str, float] = {}
    phase = ["startup"]
    last = [time.perf_counter()]

    def beat() -> None:
        now = time.perf_counter()
        gap = (now - last[0]) * 1000
        gaps[phase[0]] = max(gaps.get(phase[0], 0.0), gap)
        rss = process.memory_info().rss / 2**20
        peak_rss[phase[0]] = max(peak_rss.get(phase[0], 0.0), rss)
        last[0] = now

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
    if window.loading_bar.isVisible():
        model_s += wait_for(window.chat.worker.sig_model_ready, 120000)
    idle_rss = process.memory_info().rss / 2**20
    phase[0] = "ingest"
    last[0] = time.perf_counter()
    window.add_paths([str(pdf)])
    ingest_s = wait_for(window.library.worker.sig_ingest_finished, 1200000)
    phase[0] = "answer"
    last[0] = time.perf_counter()
    window.chat.ask("How do I parse a JSON document from a string?")
    answer_s = wait_for(window.chat.sig_answer_shown, 600000)
    heartbeat.stop()
    window.close()
    result = {
        "window_shown_s": round(window_shown_s, 2),
        "library_ready_s": round(ready_s + window_shown_s, 2),
        "models_ready_s": round(model_s, 2),
        "idle_rss_mb_models_loaded": round(idle_rss),
        "peak_rss_mb_ingest": round(peak_rss.get("ingest", 0)),
        "peak_rss_mb_answer": round(peak_rss.get("answer", 0)),
        "ingest_pages": window.library.documents.rows()[0].pages
        if window.library.documents.rows()
        else 0,
        "ingest_s": round(ingest_s, 1),
        "answer_s": round(answer_s, 1),
        "max_stall_startup_ms": round(gaps.get("startup", 0), 1),
        "max_stall_ingest_ms": round(gaps.get("ingest", 0), 1),
        "max_stall_answer_ms": round(gaps.get("answer", 0), 1),
    }
    print_result(result)


if __name__ == "__main__":
    main()

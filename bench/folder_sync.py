"""Folder sync latency with the default embedder: a file saved into a watched
folder -> searchable, through the real watcher (watchdog/inotify) and
``apply_changes``; an editor's five quick saves; a touch (no content change).

    python bench/folder_sync.py [--runs 8]

Prints a table and one JSON line (prefix ``BENCH``).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from pathlib import Path

from report import print_result


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=8)
    args = parser.parse_args()

    from assistant.core.config import load_settings
    from assistant.core.services.folder_sync import (
        Changes,
        FolderWatcher,
        apply_changes,
    )
    from assistant.core.services.library import Library

    root = Path(tempfile.mkdtemp(prefix="sync-bench-"))
    folder = root / "watched"
    folder.mkdir()
    library = Library.open(load_settings(), directory=root / "index")
    searchable: dict[str, float] = {}
    embedded: list[int] = []
    done = threading.Event()

    def on_changes(changes: Changes) -> None:
        report = apply_changes(library, changes, [folder])
        embedded.append(report.ingest.chunks_embedded)
        for path in changes.changed:
            searchable[path.name] = time.monotonic()
        done.set()

    watcher = FolderWatcher(on_changes)
    watcher.watch(folder)
    watcher.start()

    def wait() -> None:
        assert done.wait(60), "no change seen"
        done.clear()

    latencies = []
    try:
        for n in range(args.runs):
            name = f"note-{n}.md"
            saved = time.monotonic()
            (folder / name).write_text(
                f"# Note {n}\n\nThe boiler number {n} runs at {n + 2} bar. " * 20
            )
            wait()
            hits = library.search(f"boiler number {n} pressure", top_k=3)
            assert any(h.path.endswith(name) for h in hits)
            latencies.append(searchable[name] - saved)
        batches_before = len(embedded)
        saved = time.monotonic()
        for k in range(5):
            (folder / "edited.md").write_text(f"# Edited\n\nVersion {k}. " * 30)
            time.sleep(0.1)
        wait()
        five_saves = searchable["edited.md"] - saved
        batches = len(embedded) - batches_before
        (folder / "edited.md").touch()
        wait()
        touch_embedded = embedded[-1]
    finally:
        watcher.stop()
    print_result(
        {
            "benchmark": "folder_sync",
            "runs": args.runs,
            "saved_to_searchable_p50_s": round(statistics.median(latencies), 2),
            "saved_to_searchable_max_s": round(max(latencies), 2),
            "five_saves_batches": batches,
            "five_saves_to_searchable_s": round(five_saves, 2),
            "touch_chunks_embedded": touch_embedded,
            "debounce_s": 1.0,
            "embedder": library.embedder.name,
        }
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

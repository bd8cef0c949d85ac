"""Teach from my library with the real default models, end to end: the command
line makes examples from a small library and is stopped (Ctrl+C) part-way; the
Teach view's button goes on from what it left (no passage asked twice), trains a
reading adapter in the training child, and llama.cpp loads and answers with it."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from assistant.core.config import Settings
from assistant.core.teach.adapters import EXAMPLES_FILE, AdapterStore
from assistant.core.teach.reading_examples import read_examples
from assistant.core.teach.trainer import TrainProgress

pytestmark = pytest.mark.slow
SAMPLES = Path(__file__).resolve().parents[1] / "resources" / "samples"


def _assistant(home: Path, *argv: str, **kwargs: object) -> subprocess.Popen[str]:
    env = {**os.environ, "ASSISTANT_HOME": str(home), "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "assistant", *argv],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        **kwargs,  # type: ignore[call-overload]
    )


def test_teach_from_library_stops_resumes_and_reads_with_the_adapter(
    qtbot: QtBot, tmp_path: Path, _isolated_home: Path
) -> None:
    from assistant.ui.main_window import MainWindow

    home = _isolated_home
    docs = tmp_path / "docs"
    docs.mkdir()
    for name in ("heron-manual.md", "club-rules.txt"):
        shutil.copy(SAMPLES / name, docs / name)
    ingest = _assistant(home, "ingest", str(docs))
    out, _ = ingest.communicate(timeout=600)
    assert ingest.returncode == 0, out

    # the command line, stopped once its first example is on disk
    store = AdapterStore(home / "adapters")
    run = _assistant(
        home, "teach", "--from-library", "--name", "reader", "--limit", "2"
    )
    work = store.root / ".reader.work" / EXAMPLES_FILE
    deadline = time.monotonic() + 600
    while not (work.is_file() and work.read_text().strip()):
        assert run.poll() is None, run.stdout.read() if run.stdout else ""
        assert time.monotonic() < deadline, "no example written in 10 minutes"
        time.sleep(0.5)
    run.send_signal(signal.SIGINT)
    out, _ = run.communicate(timeout=300)
    assert run.returncode != 0 and "Stopping" in out, out
    first = read_examples(work)
    assert first and not store.records()

    # the window's button goes on with the same name
    window = MainWindow(Settings())
    qtbot.addWidget(window)
    window.show()
    teach = window.teach.open()
    seen: list[object] = []
    window.teach.worker.sig_progress.connect(seen.append)
    teach.name_edit.setText("reader")
    teach.library_limit.setValue(2)
    with qtbot.waitSignal(window.teach.sig_trained, timeout=1800000) as blocker:
        teach.teach_library()
    record = blocker.args[0]
    tried = read_examples(store.path("reader") / EXAMPLES_FILE)
    assert tried[: len(first)] == first  # what the command line made was kept
    assert len({e.chunk_id for e in tried}) == len(tried)  # none asked twice
    kept = [e for e in tried if e.kind != "rejected"]
    assert record.reading and record.pairs == len(kept) == 2
    assert store.adapter_file("reader").stat().st_size > 100_000
    assert not (store.root / ".reader.work").exists()
    assert record.check_answer.strip()  # llama.cpp loaded it and answered
    training = [p for p in seen if isinstance(p, TrainProgress)]
    assert any(p.phase == "training" and p.eta_s is not None for p in training)
    assert "reader" in teach.adapters.names()
    print(
        f"examples {len(kept)} of {len(tried)} tried; training {record.train_s:.0f} s, "
        f"peak {record.peak_rss_mb / 1024:.2f} GB; check: {record.check_answer!r}"
    )
    window.close()

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fakes import FakeEmbedder, SlowGenerator

from assistant.core.config import Settings
from assistant.core.services.library import Library
from assistant.ui.workers import chat_worker


@pytest.fixture
def fake_generator(monkeypatch: pytest.MonkeyPatch) -> SlowGenerator:
    generator = SlowGenerator()
    monkeypatch.setattr(chat_worker, "load_generator", lambda settings: generator)
    return generator


@pytest.fixture
def window(
    qtbot,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,  # type: ignore[no-untyped-def]
    fake_generator: SlowGenerator,
) -> Iterator[object]:
    from assistant.ui.main_window import MainWindow

    settings = Settings(chunk_tokens=40, chunk_overlap=8, min_similarity=0.0)
    monkeypatch.setattr(
        Library,
        "open",
        classmethod(
            lambda cls, s, directory=None: cls(
                s,
                FakeEmbedder(),
                directory=directory or s.library_uri or tmp_path / "index",
            )
        ),
    )
    win = MainWindow(settings)
    qtbot.addWidget(win)
    win.show()
    with qtbot.waitSignal(win.library.sig_documents_shown, timeout=10000):
        pass
    yield win
    win.shutdown()


@pytest.fixture(autouse=True)
def _no_unexpected_dialogs(monkeypatch: pytest.MonkeyPatch) -> None:
    """A modal message box blocks the test until pytest's timeout (900 s; seen
    once): one the test did not expect (by patching it) fails the test at once,
    with its text (pytest-qt reports exceptions raised in slots)."""
    from PySide6.QtWidgets import QMessageBox

    def refuse(kind: str) -> object:
        def show(parent: object, title: str, text: str, *args: object) -> None:
            raise AssertionError(f"unexpected {kind} dialog: {title}: {text}")

        return staticmethod(show)

    for kind in ("warning", "critical", "information", "question"):
        monkeypatch.setattr(QMessageBox, kind, refuse(kind))


@pytest.fixture(autouse=True)
def _thread_safe_wait_signal(monkeypatch: pytest.MonkeyPatch) -> None:
    """pytest-qt's waitSignal quits its event loop from the emitting thread; a
    worker signal emitted just before that loop starts is lost and the timeout
    timer stopped, so the test hangs (pytest-qt issue #199; seen here in the Teach
    cancel test). Waiting by polling in the test's own thread has no such gap."""
    import time

    from PySide6.QtCore import QCoreApplication, QEventLoop
    from pytestqt import wait_signal
    from pytestqt.exceptions import TimeoutError as SignalTimeout

    def wait(self) -> None:  # type: ignore[no-untyped-def]
        __tracebackhide__ = True
        if self.signal_triggered or self.timeout == 0:
            return
        if self.timeout is None and not self._signals:
            raise ValueError("No signals or timeout specified.")
        deadline = (
            None if self.timeout is None else time.monotonic() + self.timeout / 1000
        )
        app = QCoreApplication.instance()
        while not self.signal_triggered:
            if deadline is not None and time.monotonic() >= deadline:
                break
            app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)
            time.sleep(0.002)
        if not self.signal_triggered:
            self._cleanup()
            if self.raising:
                raise SignalTimeout(self._timeout_message)
        # deliver what the worker queued before the signal (as exec() would)
        app.processEvents()

    monkeypatch.setattr(wait_signal._AbstractSignalBlocker, "wait", wait)

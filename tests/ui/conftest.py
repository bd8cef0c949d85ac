from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fakes import FakeEmbedder, SlowGenerator

from assistant.config import Settings
from assistant.core.services import Library
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
                s, FakeEmbedder(), directory=tmp_path / "index"
            )
        ),
    )
    win = MainWindow(settings)
    qtbot.addWidget(win)
    win.show()
    with qtbot.waitSignal(win.sig_documents_shown, timeout=10000):
        pass
    yield win
    win.shutdown()

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).parent))

from fakes import FakeEmbedder, FakeGenerator  # noqa: E402

from assistant.core.config import Settings  # noqa: E402
from assistant.core.services.library import Library  # noqa: E402


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    monkeypatch.setenv("ASSISTANT_HOME", str(home))
    return home


@pytest.fixture
def embedder() -> FakeEmbedder:
    return FakeEmbedder()


@pytest.fixture
def generator() -> FakeGenerator:
    return FakeGenerator()


@pytest.fixture
def settings() -> Settings:
    return Settings(chunk_tokens=40, chunk_overlap=8, min_similarity=0.0)


@pytest.fixture
def library(settings: Settings, embedder: FakeEmbedder, tmp_path: Path) -> Library:
    return Library(settings, embedder, directory=tmp_path / "index")


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    folder = tmp_path / "docs"
    folder.mkdir()
    return folder

"""One typed settings model, stored as JSON in the data directory.

The data directory is ``platformdirs.user_data_dir("assistant")`` unless the
``ASSISTANT_HOME`` environment variable names another (tests use a temp dir).
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Literal

import platformdirs
from pydantic import BaseModel, Field, ValidationError

from assistant.core.fsutil import atomic_write_text, private_dir
from assistant.core.model_files import DEFAULT_EMBEDDER

log = logging.getLogger(__name__)
SCHEMA_VERSION = 1


class Settings(BaseModel):
    schema_version: int = SCHEMA_VERSION
    chat_model: str = Field(
        "", description="Path to a .gguf file; empty = default model"
    )
    embedding_model: str = Field(
        DEFAULT_EMBEDDER,
        description="Built-in name or a sentence-transformers folder",
    )
    reranker_model: str = Field(
        "",
        description="Cross-encoder folder, or a chat .gguf / built-in chat model "
        "name to judge relevance; empty = no re-rank (bench/retrieval_quality.py)",
    )
    context_length: int = Field(4096, ge=512, le=131072)
    max_answer_tokens: int = Field(
        256, ge=16, le=8192, description="a 1.5B model rambles past this"
    )
    temperature: float = Field(0.2, ge=0.0, le=2.0)
    top_k: int = Field(4, ge=1, le=50)
    candidates: int = Field(30, ge=1, le=500)
    retrieval_mode: Literal["hybrid", "vector", "text"] = "hybrid"
    min_similarity: float | None = Field(
        None,
        ge=-1.0,
        le=1.0,
        description="Vector-only hits below this cosine are dropped; "
        "empty = the embedding model's calibrated floor",
    )
    chunk_tokens: int = Field(200, ge=32, le=2048)
    chunk_overlap: int = Field(30, ge=0, le=512)
    sentence_vectors: bool = Field(
        True,
        description="Also embed every sentence of a chunk (better recall, ~1.7-1.8x "
        "the ingest time); takes effect for files indexed from now on",
    )
    threads: int = Field(0, ge=0, le=256, description="0 = one per physical core")
    max_file_mb: int = Field(200, ge=1)
    ann_min_rows: int = Field(
        5_000,
        ge=1000,
        description="Rows (chunks and sentences) from which vector search uses an "
        "approximate index: on the dev set's 18k rows a flat search took 50 ms, "
        "the index 11 ms with recall@30 0.99",
    )


def generator_settings(settings: Settings) -> tuple[str, int, int]:
    """The settings that require loading the chat model again when they change."""
    return (settings.chat_model, settings.context_length, settings.threads)


def data_dir() -> Path:
    override = os.environ.get("ASSISTANT_HOME")
    base = Path(override) if override else Path(platformdirs.user_data_dir("assistant"))
    return private_dir(base)


def settings_path() -> Path:
    return data_dir() / "settings.json"


def resources_dir() -> Path:
    """``resources/`` (icons, samples): inside a PyInstaller bundle, or beside the
    package in a source checkout."""
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        return Path(bundle) / "resources"
    return Path(__file__).resolve().parent.parent / "resources"


def index_dir() -> Path:
    return data_dir() / "index"


def load_settings(path: Path | None = None) -> Settings:
    """Read settings; a corrupt file is kept as a backup and defaults are used."""
    path = path or settings_path()
    if not path.exists():
        return Settings()
    try:
        return Settings.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, ValidationError, OSError) as exc:
        backup = path.with_name(f"{path.name}.corrupt-{int(time.time())}")
        try:
            path.replace(backup)
        except OSError:
            backup = path
        log.warning(
            "Settings file %s is unreadable (%s); using defaults. The old "
            "file was kept as %s.",
            path,
            exc.__class__.__name__,
            backup,
        )
        return Settings()


def save_settings(settings: Settings, path: Path | None = None) -> None:
    atomic_write_text(path or settings_path(), settings.model_dump_json(indent=2))

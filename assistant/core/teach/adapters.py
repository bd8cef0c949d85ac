"""Trained adapters kept in the data directory, each with its training record.

``adapters/<name>/`` holds ``adapter.gguf``, the training data (``pairs.jsonl``,
or ``examples.jsonl`` for a reading adapter taught from the library) and
``adapter.json`` (settings, loss history, timings, base model). A folder appears
under its final name only when complete (written under a temp name, then
renamed); a run that can resume keeps its examples and checkpoint in
``adapters/.<name>.work/`` until it is done."""

from __future__ import annotations

import re
import shutil
import time
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError

from assistant.core.config import data_dir
from assistant.core.errors import AssistantError
from assistant.core.fsutil import atomic_write_text, private_dir
from assistant.core.teach.trainer import LoraSettings

ADAPTER_FILE = "adapter.gguf"
PAIRS_FILE = "pairs.jsonl"
EXAMPLES_FILE = "examples.jsonl"
CHECKPOINT_FILE = "checkpoint.pt"
RECORD_FILE = "adapter.json"
NAME_PATTERN = re.compile(r"^[\w][\w .-]{0,63}$")


class AdapterRecord(BaseModel):
    name: str
    created: float = Field(default_factory=time.time)
    base_model: str
    """File name of the GGUF the adapter was trained on."""
    base_model_bytes: int = 0
    architecture: str = ""
    settings: LoraSettings
    system_prompt: str = ""
    reading: bool = False
    """Taught to answer from excerpts (``teach --from-library``): it is meant for
    the rag+sft mode; a pairs adapter answers without excerpts."""
    pairs: int = 0
    """Training pairs or examples."""
    steps: int = 0
    losses: list[tuple[int, float]] = Field(default_factory=list)
    load_s: float = 0.0
    train_s: float = 0.0
    total_s: float = 0.0
    peak_rss_mb: float = 0.0
    adapted_weights: int = 0
    check_question: str = ""
    check_answer: str = ""
    """The adapter's answer to the first training question, loaded by llama.cpp
    right after export (proves the file loads and shows what it learned)."""


def _first_error(exc: Exception) -> str:
    if isinstance(exc, ValidationError) and exc.errors():
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"])
        return f"{where}: {error['msg']}" if where else str(error["msg"])
    return str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__


def adapters_dir() -> Path:
    return private_dir(data_dir() / "adapters")


def check_name(name: str) -> str:
    name = name.strip()
    if not NAME_PATTERN.match(name):
        raise AssistantError(
            f"'{name}' is not a usable adapter name: use 1-64 letters, digits, "
            "spaces, dots, dashes or underscores."
        )
    return name


class AdapterStore:
    def __init__(self, root: Path | None = None) -> None:
        self.root = root or adapters_dir()

    def path(self, name: str) -> Path:
        return self.root / check_name(name)

    def records(self) -> list[AdapterRecord]:
        """Newest first; folders without a readable record are skipped."""
        found = []
        for folder in self.root.iterdir() if self.root.exists() else ():
            record_file = folder / RECORD_FILE
            if folder.name.startswith(".") or not record_file.is_file():
                continue
            try:
                found.append(AdapterRecord.model_validate_json(record_file.read_text()))
            except ValueError:
                continue
        return sorted(found, key=lambda r: r.created, reverse=True)

    def latest(self) -> AdapterRecord | None:
        records = self.records()
        return records[0] if records else None

    def get(self, name: str) -> AdapterRecord:
        record_file = self.path(name) / RECORD_FILE
        if not record_file.is_file():
            names = ", ".join(r.name for r in self.records()) or "none yet"
            raise AssistantError(f"No adapter named '{name}' (adapters: {names}).")
        try:
            return AdapterRecord.model_validate_json(record_file.read_text())
        except (ValueError, OSError) as exc:
            raise AssistantError(
                f"The adapter '{name}' is damaged: {record_file} cannot be read "
                f"({_first_error(exc)}). Teach it again, or delete it (Teach view, "
                f"or remove the folder {record_file.parent})."
            ) from exc

    def adapter_file(self, name: str) -> Path:
        return self.path(name) / ADAPTER_FILE

    def resolve(self, name: str | None) -> AdapterRecord:
        """The named adapter, or the last trained one."""
        if name:
            return self.get(name)
        latest = self.latest()
        if latest is None:
            raise AssistantError(
                "No fine-tuned adapter yet: teach the model first "
                "(`assistant teach PAIRS --name NAME`, or the Teach view)."
            )
        return latest

    def work_dir(self, name: str) -> Path:
        """Where a resumable run keeps its examples and checkpoint (kept across
        runs of the same name until the adapter is made)."""
        final = self.path(name)
        if final.exists():
            raise AssistantError(
                f"An adapter named '{name}' already exists; pick another name or "
                "delete it first."
            )
        return private_dir(self.root / f".{final.name}.work")

    def staging(self, name: str) -> Path:
        """A fresh temp folder to build the adapter in."""
        final = self.path(name)
        if final.exists():
            raise AssistantError(
                f"An adapter named '{name}' already exists; pick another name or "
                "delete it first."
            )
        tmp = self.root / f".{final.name}.partial"
        shutil.rmtree(tmp, ignore_errors=True)
        private_dir(tmp)
        return tmp

    def commit(self, staging: Path, record: AdapterRecord) -> Path:
        atomic_write_text(staging / RECORD_FILE, record.model_dump_json(indent=1))
        final = self.path(record.name)
        staging.rename(final)
        return final

    def delete(self, name: str) -> None:
        target = self.path(name)
        if not target.exists():
            raise AssistantError(f"No adapter named '{name}'.")
        trash = self.root / f".{target.name}.deleting"
        target.rename(trash)
        shutil.rmtree(trash, ignore_errors=True)

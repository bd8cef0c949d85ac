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
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

import platformdirs
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from assistant.core.fsutil import atomic_write_text, is_remote, private_dir
from assistant.core.model_files import DEFAULT_EMBEDDER

log = logging.getLogger(__name__)
SCHEMA_VERSION = 1


class Settings(BaseModel):
    """One run's settings: a value (changed by model_copy, never in place), so
    a thread holding one never sees it change under it."""

    model_config = ConfigDict(frozen=True)

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
    chunk_vectors: Literal["staged", "encoded", "from_sentences"] = Field(
        "staged",
        description="How a chunk of several sentences gets its vector: "
        "staged = the mean of its sentences' vectors first (searchable by meaning "
        "after one pass over the text), then encoded whole in the background; "
        "encoded = whole at once; from_sentences = the mean only (fastest, finds "
        "the right page a little less often); takes effect for files indexed "
        "from now on",
    )
    question_terms: bool = Field(
        False,
        description="Before searching, have the chat model name the commands, "
        "options and terms the documents likely use for the question, and search "
        "them with it (query_translation.py; off: on the dev set top-5 0.91 -> 0.94 "
        "but answers 0.71 -> 0.67 and ~1.3 s more to the first token, README)",
    )
    threads: int = Field(0, ge=0, le=256, description="0 = one per physical core")
    max_file_mb: int = Field(200, ge=1)
    library_uri: str = Field(
        "",
        description="Where the library lives: a folder, or a shared library at "
        "s3://bucket/prefix on S3-compatible storage; empty = the data directory "
        "(ASSISTANT_LIBRARY overrides it)",
    )
    library_options: dict[str, str] = Field(
        default_factory=dict,
        description="Object-store options for a shared library (endpoint, region, "
        "allow_http); credentials come from the environment or ~/.aws, never "
        "from this file",
    )
    chat_backend: Literal["local", "openai"] = Field(
        "local",
        description="local = the GGUF model in this process; openai = an "
        "OpenAI-compatible server at chat_base_url (ASSISTANT_CHAT_BASE_URL)",
    )
    chat_base_url: str = Field("", description="e.g. http://127.0.0.1:8080/v1")
    chat_server_model: str = Field(
        "", description="The model name the server is asked for (empty: its first)"
    )
    embedding_base_url: str = Field(
        "",
        description="The OpenAI-compatible server for embedding_model "
        "'openai:MODEL' (ASSISTANT_EMBED_BASE_URL overrides it)",
    )
    chat_api_key_env: str = Field(
        "OPENAI_API_KEY",
        description="The environment variable holding the server's API key",
    )
    ann_min_rows: int = Field(
        5_000,
        ge=1000,
        description="Rows (chunks and sentences) from which vector search uses an "
        "approximate index: on the dev set's 18k rows a flat search took 50 ms, "
        "the index 11 ms with recall@30 0.99",
    )

    @field_validator("library_options")
    @classmethod
    def _no_credentials(cls, options: dict[str, str]) -> dict[str, str]:
        secret = [
            key
            for key in options
            if any(word in key.lower() for word in ("secret", "key", "token", "pass"))
        ]
        if secret:
            raise ValueError(
                f"library_options may not hold credentials ({', '.join(secret)}): "
                "set AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or use ~/.aws"
            )
        return options


def generator_settings(settings: Settings) -> tuple[str, ...]:
    """The settings that require loading the chat model again when they change."""
    server = chat_server(settings)
    return (
        settings.chat_model,
        str(settings.context_length),
        str(settings.threads),
        *(server.key() if server else ()),
    )


def library_location(settings: Settings) -> Path | str:
    """The library's folder or object-store URI: ``ASSISTANT_LIBRARY``, else the
    ``library_uri`` setting, else ``index_dir()``."""
    chosen = os.environ.get("ASSISTANT_LIBRARY") or settings.library_uri
    if not chosen:
        return index_dir()
    if is_remote(chosen):
        return chosen.rstrip("/")
    return Path(chosen.removeprefix("file://")).expanduser()


def shared_state_dir(uri: str) -> Path:
    """This desktop's own folder for a shared library (its watched folders)."""
    slug = "".join(c if c.isalnum() or c in "-_." else "_" for c in uri)
    return data_dir() / "shared" / slug[:120]


@dataclass(frozen=True)
class ChatServer:
    """An OpenAI-compatible server to answer with instead of the local model."""

    base_url: str
    model: str
    api_key: str

    def key(self) -> tuple[str, str]:
        return (self.base_url, self.model)


def url_host(url: str) -> str:
    """``host:port`` of a server URL (the URL itself if it has none)."""
    return urlsplit(url).netloc or url


def server_api_key(settings: Settings) -> str:
    """The servers' API key, from the variable ``chat_api_key_env`` names."""
    return os.environ.get(settings.chat_api_key_env or "OPENAI_API_KEY", "")


def embedding_server_url(settings: Settings) -> str:
    return (
        os.environ.get("ASSISTANT_EMBED_BASE_URL") or settings.embedding_base_url
    ).rstrip("/")


def chat_server(settings: Settings) -> ChatServer | None:
    """The server answers come from (``ASSISTANT_CHAT_BASE_URL`` /
    ``ASSISTANT_CHAT_MODEL`` override the settings), or None: the local model."""
    base_url = os.environ.get("ASSISTANT_CHAT_BASE_URL") or (
        settings.chat_base_url if settings.chat_backend == "openai" else ""
    )
    if not base_url:
        return None
    model = os.environ.get("ASSISTANT_CHAT_MODEL") or settings.chat_server_model
    return ChatServer(base_url.rstrip("/"), model, server_api_key(settings))


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
    return Path(__file__).resolve().parents[2] / "resources"


def index_dir() -> Path:
    return data_dir() / "index"


def load_settings(path: Path | None = None) -> Settings:
    """:func:`read_settings` without the list of refused fields (they are logged)."""
    return read_settings(path)[0]


def read_settings(path: Path | None = None) -> tuple[Settings, list[str]]:
    """Read settings, and say what was refused (a line each, for the window).
    A value out of range or of the wrong type is refused by name and its default
    used, every other field kept (one bad ``top_k`` must not move ``library_uri``
    back to the default library); a file that is not JSON at all is kept as a
    backup and defaults are used."""
    path = path or settings_path()
    if not path.exists():
        return Settings(), []
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(raw, dict):
            raise ValueError("not a JSON object")
    except (ValueError, OSError) as exc:
        backup = path.with_name(f"{path.name}.corrupt-{int(time.time())}")
        try:
            path.replace(backup)
        except OSError:
            backup = path
        said = (
            f"Settings file {path} is unreadable ({exc}); using defaults. The old "
            f"file was kept as {backup}."
        )
        log.warning("%s", said)
        return Settings(), [said]
    return settings_from(raw, str(path))


def settings_from(raw: dict[str, object], where: str) -> tuple[Settings, list[str]]:
    """``raw`` validated field by field: each refused field is named in a warning
    (and in the list returned) and left at its default."""
    fields = Settings.model_fields
    kept = dict(raw)
    said: list[str] = []
    for _ in range(len(raw) + 1):
        try:
            return Settings.model_validate(kept), said
        except ValidationError as exc:
            refused = set()
            for error in exc.errors():
                name = str(error["loc"][0]) if error["loc"] else ""
                if name not in kept:
                    continue
                refused.add(name)
                default = fields[name].get_default(call_default_factory=True)
                said.append(
                    f"{name} = {json.dumps(kept[name])[:80]} refused ({error['msg']}); "
                    f"using {default!r} instead"
                )
                log.warning("%s: %s.", where, said[-1])
            if not refused:
                break
            kept = {k: v for k, v in kept.items() if k not in refused}
    said.append(f"{where} could not be read as settings; using defaults")
    log.warning("%s.", said[-1])
    return Settings(), said


def save_settings(settings: Settings, path: Path | None = None) -> None:
    atomic_write_text(path or settings_path(), settings.model_dump_json(indent=2))


def backend_info(settings: Settings) -> dict[str, str]:
    """Where answers come from and where the library is (``info``, the window)."""
    server = chat_server(settings)
    location = library_location(settings)
    return {
        "chat_backend": "openai" if server else "local",
        "chat_server": server.base_url if server else "",
        "library": str(location),
        "library_kind": "shared" if isinstance(location, str) else "local",
    }


def connection_label(settings: Settings) -> tuple[str, str, bool]:
    """The status bar's text, its tooltip, and whether nothing leaves this
    machine: "Offline" only then, never with a server or a shared library."""
    server = chat_server(settings)
    location = library_location(settings)
    parts, tips = [], []
    if server:
        parts.append(f"Server \u00b7 {url_host(server.base_url)}")
        tips.append(
            f"Answers come from the server at {server.base_url}: questions and "
            "the passages they need are sent to it."
        )
    if isinstance(location, str):
        parts.append(f"Shared library \u00b7 {location}")
        tips.append(f"The library is stored at {location}.")
    if not parts:
        return (
            "\u25cf Offline \u00b7 local model",
            "Assistant never connects to the network.",
            True,
        )
    return "\u25cf " + " \u00b7 ".join(parts), " ".join(tips), False

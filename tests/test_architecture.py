"""The core's layout is what docs/architecture.md draws: every module of
``assistant/core`` sits in one layer of the import contract that ``./test.sh``
checks with lint-imports (a module left out would escape the check)."""

from __future__ import annotations

import ast
import re
import tomllib
from pathlib import Path

from private_names import private_names

ROOT = Path(__file__).resolve().parents[1]
CORE = ROOT / "assistant" / "core"


def _layers() -> list[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    contracts = config["tool"]["importlinter"]["contracts"]
    (stages,) = [c for c in contracts if c["type"] == "layers"]
    return [name for layer in stages["layers"] for name in re.split(r"[|:]", layer)]


def test_every_core_module_is_in_a_layer_of_the_contract() -> None:
    layered = {name.strip() for name in _layers()}
    present = {
        p.stem if p.is_file() else p.name
        for p in CORE.iterdir()
        if (p.suffix == ".py" and p.stem != "__init__") or (p / "__init__.py").exists()
    }
    assert present == layered, (present - layered, layered - present)


def test_stages_are_the_pipeline_a_newcomer_reads() -> None:
    stages = [p.name for p in CORE.iterdir() if (p / "__init__.py").exists()]
    assert sorted(stages) == sorted(
        [
            "ingest",
            "embed",
            "index",
            "retrieve",
            "generate",
            "answer",
            "teach",
            "services",
        ]
    )
    for stage in stages:  # each says what it holds
        assert (CORE / stage / "__init__.py").read_text().startswith('"""')


THIRD_PARTY_PRIVATES = {
    # the pinned checks of other libraries' internals (test_library_internals.py)
    "tests/test_library_internals.py": {"_model", "_tokenizer"},
    "bench/llamaindex_ingest.py": {"_model"},  # LlamaIndex's embedding model
}


def test_tests_and_benchmarks_use_no_private_names_of_the_product() -> None:
    """They go through what the product offers (a public method, a property),
    so a rename inside a module never breaks them silently."""
    product: set[str] = set()
    for path in (ROOT / "assistant").rglob("*.py"):
        product |= private_names(ast.parse(path.read_text()))
    used = []
    for folder in ("tests", "bench"):
        for path in (ROOT / folder).rglob("*.py"):
            tree = ast.parse(path.read_text())
            name = str(path.relative_to(ROOT))
            own = private_names(tree) | THIRD_PARTY_PRIVATES.get(name, set())
            for node in ast.walk(tree):
                found = []
                if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Load):
                    found = [node.attr]
                elif isinstance(node, ast.ImportFrom) and (
                    node.module or ""
                ).startswith("assistant"):
                    found = [alias.name for alias in node.names]
                used += [
                    f"{name}:{node.lineno} {n}"
                    for n in found
                    if n in product and n not in own
                ]
    assert not used, used


def test_every_benchmark_log_is_in_the_index() -> None:
    """docs/bench/README.md is written by scripts/bench_log_index.py: run it
    after adding a log."""
    import subprocess
    import sys

    script = ROOT / "scripts" / "bench_log_index.py"
    done = subprocess.run([sys.executable, str(script), "--check"], check=False)
    assert done.returncode == 0, "docs/bench/README.md is stale: run the script"

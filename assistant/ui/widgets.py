"""Small widget helpers shared by the panes."""

from __future__ import annotations

from PySide6.QtWidgets import QToolButton


def tool_button(text: str, tip: str) -> QToolButton:
    button = QToolButton()
    button.setText(text)
    button.setToolTip(tip)
    return button

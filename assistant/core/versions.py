"""Versions of the packages that decide behaviour (for `assistant info` and the
window's About box, so a bug report names them)."""

from __future__ import annotations

from importlib import metadata

KEY_PACKAGES = (
    "assistant",
    "llama-cpp-python",
    "sentence-transformers",
    "lancedb",
    "pypdf",
    "pypdfium2",
    "torch",
    "PySide6",
)


def package_versions() -> dict[str, str | None]:
    versions: dict[str, str | None] = {}
    for package in KEY_PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    return versions

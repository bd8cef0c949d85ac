"""Before Qt starts: name the system libraries its X11 plugin lacks, in one line.

Without them Qt prints a screen of plugin diagnostics and aborts; a user needs
the package names to install. Checked with ``ldd`` on the plugin (skipped where
there is no ``ldd``, or when another platform plugin is chosen).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from importlib.util import find_spec
from pathlib import Path

_NOT_FOUND = re.compile(r"^\s*(\S+)\s+=>\s+not found", re.MULTILINE)


def missing_libraries(ldd_output: str) -> list[str]:
    """Sonames ``ldd`` reports as not found, in order, once each."""
    return list(dict.fromkeys(_NOT_FOUND.findall(ldd_output)))


def debian_package(soname: str) -> str:
    """The Debian/Ubuntu package that usually ships ``soname``
    (libxcb-cursor.so.0: libxcb-cursor0; libxkbcommon-x11.so.0: libxkbcommon-x11-0)."""
    match = re.match(r"^(lib.+?)\.so\.(\d+)", soname)
    if not match:
        return soname
    name, version = match.group(1).lower(), match.group(2)
    return f"{name}-{version}" if name[-1].isdigit() else f"{name}{version}"


def _xcb_plugin() -> Path | None:
    spec = find_spec("PySide6")
    if spec is None or not spec.submodule_search_locations:
        return None
    qt = Path(list(spec.submodule_search_locations)[0]) / "Qt"
    plugin = qt / "plugins" / "platforms" / "libqxcb.so"
    return plugin if plugin.is_file() else None


def _uses_xcb() -> bool:
    platform = os.environ.get("QT_QPA_PLATFORM", "")
    if platform:
        return platform.split(":")[0] == "xcb"
    return bool(os.environ.get("DISPLAY")) and not os.environ.get("WAYLAND_DISPLAY")


def check_desktop_libraries() -> str:
    """An error line naming what to install, or "" when nothing is missing (or it
    cannot be checked)."""
    if not sys.platform.startswith("linux") or not _uses_xcb():
        return ""
    plugin = _xcb_plugin()
    ldd = shutil.which("ldd")
    if plugin is None or ldd is None:
        return ""
    libraries = [plugin, plugin.parents[2] / "lib" / "libQt6XcbQpa.so.6"]
    output = ""
    for library in libraries:
        if library.is_file():
            done = subprocess.run([ldd, str(library)], capture_output=True, text=True)
            output += done.stdout
    missing = missing_libraries(output)
    if not missing:
        return ""
    packages = " ".join(dict.fromkeys(debian_package(m) for m in missing))
    return (
        f"error: the window needs system libraries that are missing "
        f"({', '.join(missing)}). On Debian or Ubuntu: sudo apt install {packages}"
    )

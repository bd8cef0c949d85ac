"""The window's start-up check for missing desktop libraries (no Qt started)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from assistant.ui.preflight import debian_package, missing_libraries

LDD_OUTPUT = """\
\tlinux-vdso.so.1 (0x00007ffc)
\tlibxcb-cursor.so.0 => not found
\tlibxcb-icccm.so.4 => not found
\tlibxkbcommon-x11.so.0 => not found
\tlibxcb.so.1 => /lib/x86_64-linux-gnu/libxcb.so.1 (0x00007f5f)
\tlibxcb-cursor.so.0 => not found
"""


def test_missing_sonames_become_debian_package_names() -> None:
    missing = missing_libraries(LDD_OUTPUT)
    assert missing == [
        "libxcb-cursor.so.0",
        "libxcb-icccm.so.4",
        "libxkbcommon-x11.so.0",
    ]
    assert [debian_package(m) for m in missing] == [
        "libxcb-cursor0",
        "libxcb-icccm4",
        "libxkbcommon-x11-0",
    ]
    assert debian_package("libX11-xcb.so.1") == "libx11-xcb1"


def test_the_window_names_what_to_install_in_one_line(tmp_path: Path) -> None:
    """A machine without libxcb-cursor0 (simulated by an ``ldd`` that says so):
    one line naming the packages, exit 1, and no Qt plugin dump."""
    fake = tmp_path / "bin"
    fake.mkdir()
    ldd = fake / "ldd"
    ldd.write_text(f"#!/bin/sh\nprintf '{LDD_OUTPUT}'\n")
    ldd.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k != "QT_QPA_PLATFORM"}
    env.update(PATH=f"{fake}:{env['PATH']}", DISPLAY=":99")
    done = subprocess.run(
        [sys.executable, "-m", "assistant.cli"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert (
        "sudo apt install libxcb-cursor0 libxcb-icccm4 libxkbcommon-x11-0" in lines[0]
    )

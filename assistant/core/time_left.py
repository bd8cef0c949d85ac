"""How long a running job has left, as the window and the command line say it."""

from __future__ import annotations


def format_time_left(seconds: float | None) -> str:
    """ "2 h 5 min left", "3 min 20 s left", "40 s left"; "estimating…" while no
    pace is known yet (``None``)."""
    if seconds is None:
        return "estimating…"
    whole = int(seconds)
    if whole >= 3600:
        return f"{whole // 3600} h {whole % 3600 // 60} min left"
    if whole >= 60:
        return f"{whole // 60} min {whole % 60} s left"
    return f"{whole} s left"

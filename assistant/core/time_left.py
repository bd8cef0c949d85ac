"""How long a running job has left, as the window and the command line say it."""

from __future__ import annotations

from assistant.core.types import IngestProgress


def format_time_left(seconds: float | None) -> str:
    """ "2 h 5 min left", "3 min 20 s left", "40 s left"; "estimating…" while no
    pace is known yet (``None``)."""
    if seconds is None:
        return "estimating…"
    return f"{format_duration(seconds)} left"


def format_duration(seconds: float) -> str:
    """ "2 h 5 min", "3 min 20 s", "40 s"."""
    whole = int(seconds)
    if whole >= 3600:
        return f"{whole // 3600} h {whole % 3600 // 60} min"
    if whole >= 60:
        return f"{whole // 60} min {whole % 60} s"
    return f"{whole} s"


class SharedPace:
    """The time left of an ingest paced by its own work: stretches in which the
    cores were shared (an answer being written) are left out of the pace, so one
    question does not move the estimate by minutes (it jumped 31 -> 43 min)."""

    def __init__(self) -> None:
        self.sharing = False
        self._last: tuple[float, float] | None = None
        self._shared = (0.0, 0.0)

    def eta_s(self, progress: IngestProgress) -> float | None:
        now = (progress.elapsed_s, progress.bytes_progress)
        if self._last is None or now[0] < self._last[0]:  # a new job
            self._shared = (0.0, 0.0)
        elif self.sharing and progress.pace_from is not None:
            since = max(self._last[0], progress.pace_from[0])
            if now[0] > since:
                part = (now[0] - since) / (now[0] - self._last[0])
                self._shared = (
                    self._shared[0] + now[0] - since,
                    self._shared[1] + (now[1] - self._last[1]) * part,
                )
        self._last = now
        estimate = progress.eta_without(*self._shared)
        return progress.eta_s if estimate is None else estimate

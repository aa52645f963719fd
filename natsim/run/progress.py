"""The progress line of ``natsim run``: lab time, the real-world time it stands for, connections
tested so far (each running probe's :meth:`~natsim.probes.registry.Handle.progress`) and probes done."""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from natsim.probes.tally import Tally
from natsim.units import TimeScale, format_duration


def connections_text(tallies: Sequence[Tally]) -> str:
    """``connections tested 35/390`` (``35/≥130``: a probe that cannot know its total is running)."""
    done = sum(t.done for t in tallies)
    known = sum(t.total or 0 for t in tallies)
    if any(t.total is None for t in tallies):
        return f"connections tested {done}/≥{max(known, done)}"
    return f"connections tested {done}/{known}"


class Progress:
    """Prints the progress line every ``every`` seconds (every second on a terminal) on ``stream``
    (stderr), and once more at the end; nothing with ``natsim -q``."""

    def __init__(self, name: str, scale: TimeScale, total: int, tallies: Callable[[], Sequence[Tally]],
                 stream: Any = None, every: float = 10.0) -> None:
        self.name, self.scale, self.total, self.tallies = name, scale, total, tallies
        self.stream = stream or sys.stderr
        self.every = every if not self.stream.isatty() else 1.0
        self.started = time.monotonic()
        self.done = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def line(self) -> str:
        """The current progress line."""
        lab = time.monotonic() - self.started
        real = self.scale.to_real(lab)
        return (f"[natsim] {self.name}: lab {lab:6.1f} s = real-world {format_duration(round(real))}, "
                f"{connections_text(self.tallies())}, probes done {self.done}/{self.total}")

    def _loop(self) -> None:
        if logging.getLogger("natsim").getEffectiveLevel() > logging.WARNING:   # natsim -q
            return
        while not self._stop.wait(self.every):
            end = "\r" if self.stream.isatty() else "\n"
            print(self.line(), end=end, file=self.stream, flush=True)

    def __enter__(self) -> Progress:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if logging.getLogger("natsim").getEffectiveLevel() <= logging.WARNING:
            print(self.line(), file=self.stream, flush=True)

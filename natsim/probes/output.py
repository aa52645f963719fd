"""What a probe prints: the original tools' lines (``[<epoch>.<usec>] [+] ...``) on stdout and, when
stderr is a terminal, a live progress line there."""

from __future__ import annotations

import asyncio
import sys
import time
from collections import Counter
from collections.abc import Callable
from typing import TextIO

from natsim.probes.tally import TallyWriter
from natsim.report.schema import ConnectionResult, Verdict
from natsim.units import format_duration


def stamp(when: float | None = None) -> str:
    """``[1732250000.123456]``: the original tools' ``gettimeofday`` prefix."""
    now = time.time() if when is None else when
    seconds = int(now)
    return f"[{seconds}.{int((now - seconds) * 1_000_000):06d}]"


def minutes_seconds(seconds: float) -> str:
    """``'59m 0s'``, the original tools' way of printing a duration."""
    whole = int(seconds)
    return f"{whole // 60}m {whole % 60}s"


class ProbeOutput:
    """Prints result lines and (on a terminal) a progress line; counts verdicts for the display."""

    def __init__(self, out: TextIO | None = None, err: TextIO | None = None, *,
                 progress: bool | None = None, label: str = "") -> None:
        self.out = out
        self.err = err
        self.progress = progress if progress is not None else bool(err is not None and err.isatty())
        self.label = label
        self.total = 0
        self.counts: Counter[Verdict] = Counter()
        self.results: list[ConnectionResult] = []
        self.next_due: Callable[[], tuple[int, float] | None] | None = None
        self.tally: TallyWriter | None = None   # --progress FILE
        self._shown = False

    def line(self, text: str) -> None:
        """One timestamped line on stdout."""
        if self.out is None:
            return
        self._clear()
        self.out.write(f"{stamp()} {text}\n")
        self.out.flush()

    def plain(self, text: str) -> None:
        """One line on stdout without a time stamp."""
        if self.out is not None:
            self._clear()
            self.out.write(text + "\n")
            self.out.flush()

    def record(self, result: ConnectionResult) -> None:
        """Keep a connection's result (for the progress line and for a partial result)."""
        self.counts[result.verdict] += 1
        self.results.append(result)
        if self.tally is not None:
            self.tally.record(result)

    def status(self) -> str:
        """The progress text: ``'send 12/130 tested: 10 alive, 2 dead | next #12 in 45s (idle 13m)'``."""
        done = sum(self.counts.values())
        parts = [f"{n} {v.value}" for v, n in sorted(self.counts.items())]
        text = f"{self.label} {done}/{self.total} tested" + (": " + ", ".join(parts) if parts else "")
        upcoming = self.next_due() if self.next_due else None
        if upcoming is not None:
            index, wait = upcoming
            text += f" | next #{index} in {format_duration(max(0, round(wait)))}"
        return text

    def _clear(self) -> None:
        if self._shown and self.err is not None:
            self.err.write("\r\033[K")
            self.err.flush()
            self._shown = False

    def show(self) -> None:
        """Redraw the progress line (terminal only)."""
        if not self.progress or self.err is None:
            return
        self.err.write("\r\033[K" + self.status()[:200])
        self.err.flush()
        self._shown = True

    async def run_display(self, period: float = 0.5) -> None:
        """Redraw the progress line every ``period`` seconds until cancelled."""
        if not self.progress:
            return
        try:
            while True:
                self.show()
                await asyncio.sleep(period)
        finally:
            self._clear()


def stdout_output(label: str) -> ProbeOutput:
    """Output to the process's stdout, progress on stderr when it is a terminal."""
    return ProbeOutput(sys.stdout, sys.stderr, label=label)

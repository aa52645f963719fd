"""How far a running probe is: connections tested so far, of how many.

A probe tool given ``--progress FILE`` rewrites FILE (atomically) after each connection's verdict with
``DONE TOTAL`` (``TOTAL`` is ``-`` when the probe cannot know it ahead, e.g. a bisection). A lab
driver's handle reads it back (:meth:`natsim.probes.registry.Handle.progress`), so ``natsim run``
counts connections as they finish instead of probes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from natsim.outfiles import write_file
from natsim.report.schema import ConnectionResult


@dataclass(frozen=True)
class Tally:
    """Connections tested so far and how many there are (``None``: not known ahead)."""

    done: int
    total: int | None


def read_tally(path: Path, total: int | None) -> Tally:
    """What the probe writing ``path`` reported; ``Tally(0, total)`` before its first verdict."""
    try:
        done_text, _, total_text = path.read_text().strip().partition(" ")
        return Tally(int(done_text), None if total_text == "-" else int(total_text))
    except (OSError, ValueError):
        return Tally(0, total)


def write_tally(path: Path, tally: Tally) -> None:
    """Replace ``path`` with ``tally`` in one step (a reader never sees half a file; never through a
    link: :mod:`natsim.outfiles`)."""
    write_file(path, f"{tally.done} {'-' if tally.total is None else tally.total}\n")


class TallyWriter:
    """Counts verdicts and rewrites ``path`` after each (nothing when ``path`` is None)."""

    def __init__(self, path: Path | None, total: int | None) -> None:
        self.path, self.total, self.done = path, total, 0
        if path is not None:
            write_tally(path, Tally(0, total))

    def record(self, result: ConnectionResult) -> None:
        """One more connection has its verdict."""
        self.done += 1
        if self.path is not None:
            write_tally(self.path, Tally(self.done, self.total))

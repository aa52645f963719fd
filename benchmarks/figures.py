"""The figures a benchmark measured, for ``make bench``'s one table (benchmarks/run_all.py).

Every benchmark prints its own numbers for a human; it also calls :func:`record` with each figure
that has a target. When ``NATSIM_BENCH_FIGURES`` names a file (run_all.py sets it), each figure is
appended to it as one JSON line; otherwise :func:`record` does nothing, so running a benchmark by
hand is unchanged.

A figure's target is on its value (``predict() < 200 ms``) or on its ratio to a reference measured
in the same run (``natsim --help <= 4x`` a bare interpreter's start): machines and their load differ,
so a ratio to something timed side by side is the comparable number wherever one exists.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from typing import Literal

ENV = "NATSIM_BENCH_FIGURES"


@dataclass(frozen=True)
class Figure:
    """One measured number and its target."""

    benchmark: str
    name: str
    value: float
    unit: str
    target: float
    target_of: Literal["value", "ratio"] = "value"
    at_most: bool = True
    reference: float | None = None
    reference_name: str = ""

    @property
    def ratio(self) -> float | None:
        """``value / reference`` when a reference was measured in the same run."""
        if self.reference is None or self.reference == 0:
            return None
        return self.value / self.reference

    @property
    def met(self) -> bool:
        """Whether the target is met (a ratio target without a reference is not)."""
        measured = self.ratio if self.target_of == "ratio" else self.value
        if measured is None:
            return False
        return measured <= self.target if self.at_most else measured >= self.target

    def describe_target(self) -> str:
        """``<= 4x of bare python`` or ``<= 200 ms``."""
        sign = "<=" if self.at_most else ">="
        if self.target_of == "ratio":
            return f"{sign} {self.target:g}x {self.reference_name}"
        return f"{sign} {self.target:g} {self.unit}"


def record(figure: Figure) -> None:
    """Append ``figure`` to the file named by ``$NATSIM_BENCH_FIGURES``, if any."""
    path = os.environ.get(ENV)
    if not path:
        return
    with open(path, "a", encoding="utf-8") as out:
        out.write(json.dumps(asdict(figure)) + "\n")


def load(path: str) -> list[Figure]:
    """The figures recorded in ``path`` (missing file: none)."""
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as source:
        return [Figure(**json.loads(line)) for line in source if line.strip()]

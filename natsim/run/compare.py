"""Predicted (model) vs observed (lab) results, side by side. A disagreement is a bug in one of them."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any, TextIO

from natsim.report.schema import RunResult, Verdict
from natsim.units import format_duration


@dataclass(frozen=True)
class Row:
    """One connection of one probe, as observed and as predicted."""

    probe: str
    index: int
    idle: float
    observed: Verdict | None
    predicted: Verdict | None
    explanation: str
    uncertain: bool = False  # the model says either verdict is possible (a late kernel timer)

    @property
    def agrees(self) -> bool:
        """Same verdict on both sides, or any verdict where the model is uncertain."""
        if self.observed is None:
            return False
        return self.uncertain or self.observed == self.predicted

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: verdicts as their strings (``None`` where a side has no such connection)."""
        return {"probe": self.probe, "index": self.index, "idle": self.idle,
                "observed": self.observed.value if self.observed else None,
                "predicted": self.predicted.value if self.predicted else None,
                "agrees": self.agrees, "uncertain": self.uncertain, "explanation": self.explanation}


def compare(observed: RunResult, predicted: RunResult) -> list[Row]:
    """Pair connections by probe name and index."""
    rows = []
    for probe in observed.probes:
        try:
            predicted_probe = predicted.probe(probe.name)
            model = {c.index: c for c in predicted_probe.connections}
            uncertain = set(predicted_probe.extra.get("uncertain", []))
        except KeyError:
            model, uncertain = {}, set()
        seen = {c.index: c for c in probe.connections}
        for index in sorted(set(seen) | set(model)):
            obs, pred = seen.get(index), model.get(index)
            idle = (obs or pred).idle  # type: ignore[union-attr]
            rows.append(Row(probe.name, index, idle, obs.verdict if obs else None,
                            pred.verdict if pred else None, pred.explanation if pred else "",
                            index in uncertain))
    return rows


def format_comparison(rows: list[Row], *, only_disagreements: bool = False) -> str:
    """A text table; disagreements are marked. ``only_disagreements``: a heading that says so, only
    the rows that disagree (or, when none does, one line saying that model and lab agree)."""
    shown = [row for row in rows if not (only_disagreements and row.agrees)]
    either = sum(r.uncertain for r in rows)
    bad = sum(not r.agrees for r in rows)
    tail = f"{len(rows) - bad} of {len(rows)} connections agree" + (
        f" ({either} where the model allows either verdict: a kernel timer that may fire late)"
        if either else "")
    if only_disagreements and not shown:
        return f"The model's prediction beside the lab's observation: {tail}"
    lines = ["The model's prediction beside the lab's observation, disagreements only:"] \
        if only_disagreements else []
    lines.append(f"{'probe':<14}{'#':>4}  {'idle':>8}  {'observed':<9}{'predicted':<10} why (model)")
    for row in shown:
        mark = "  (model: either verdict)" if row.uncertain else ("" if row.agrees else "  <-- DISAGREE")
        lines.append(f"{row.probe:<14}{row.index:>4}  {format_duration(row.idle):>8}  "
                     f"{row.observed.value if row.observed else '-':<9}"
                     f"{row.predicted.value if row.predicted else '-':<10} {row.explanation}{mark}")
    lines.append(tail)
    return "\n".join(lines)


def all_agree(rows: list[Row]) -> bool:
    """At least one connection, and every one agrees."""
    return bool(rows) and all(r.agrees for r in rows)


def model_rows(scenario: object, observed: RunResult) -> list[Row]:
    """Predict ``scenario`` and pair the prediction with ``observed`` (prints nothing)."""
    from natsim.run.predict import predict

    # predict() adds the scenario's own seed, as the lab does: the same draws as the lab run
    predicted = predict(scenario)  # type: ignore[arg-type]
    return compare(observed, predicted)


def compare_with_model(scenario: object, observed: RunResult, *, brief: bool = False,
                       stream: TextIO | None = None) -> int:
    """Predict ``scenario``, print the comparison to ``stream`` (default stdout), return 1 on any
    disagreement."""
    rows = model_rows(scenario, observed)
    print(format_comparison(rows, only_disagreements=brief), file=stream or sys.stdout)
    return 0 if all_agree(rows) else 1

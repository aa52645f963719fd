"""``survival.png``: per connection, idle time vs alive/dead, middlebox timeouts drawn as lines."""

from __future__ import annotations

import io
from collections.abc import Mapping
from pathlib import Path

from natsim.outfiles import write_file
from natsim.report.schema import RunResult, Verdict

COLORS = {Verdict.ALIVE: "tab:green", Verdict.OK: "tab:green", Verdict.DEAD: "tab:red",
          Verdict.RESET: "tab:orange", Verdict.EOF: "tab:purple", Verdict.ERROR: "black",
          Verdict.SKIPPED: "lightgrey"}


def plot_survival(result: RunResult, path: Path, timeouts: Mapping[str, float]) -> None:
    """Write :func:`survival_png` to ``path``, never through a link."""
    write_file(path, survival_png(result, timeouts))


def survival_png(result: RunResult, timeouts: Mapping[str, float]) -> bytes:
    """The survival plot (PNG); ``timeouts`` maps a label (``cpe idle``) to real-world seconds."""
    from matplotlib.figure import Figure  # no pyplot: leaves the importer's backend and figures alone

    probes = [p for p in result.probes if p.connections] or result.probes
    fig = Figure(figsize=(9, 1.2 + 0.6 * max(1, len(probes))))
    ax = fig.subplots()
    for row, probe in enumerate(probes):
        for verdict in Verdict:
            xs = [c.idle / 60 for c in probe.connections if c.verdict is verdict]
            if xs:
                ax.scatter(xs, [row] * len(xs), s=18, color=COLORS[verdict], label=verdict.value, marker="|"
                           if len(probe.connections) > 40 else "o")
    for label, seconds in timeouts.items():
        ax.axvline(seconds / 60, linestyle="--", color="grey")
        ax.text(seconds / 60, len(probes) - 0.5, f" {label}", rotation=90, va="top", fontsize=8)
    ax.set_yticks(range(len(probes)), [p.name for p in probes])
    ax.set_ylim(-0.7, len(probes) - 0.3)
    ax.set_xlabel("idle time before the test (real-world minutes)")
    ax.set_title(f"{result.scenario or 'natsim'}: which idle connections survived")
    handles, labels = ax.get_legend_handles_labels()
    unique = dict(zip(labels, handles, strict=False))
    if unique:
        ax.legend(unique.values(), unique.keys(), loc="lower right", fontsize=8)
    fig.tight_layout()
    png = io.BytesIO()
    fig.savefig(png, format="png", dpi=110)
    return png.getvalue()

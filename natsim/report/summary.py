"""A text summary of a run in real-world units: per probe, verdicts and the estimated timeout."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from natsim.expect import Check
from natsim.report.labmap import preset_line
from natsim.report.schema import RunResult, estimate_timeout
from natsim.units import format_duration


def format_summary(result: RunResult, checks: Sequence[Check] = (), *, connections: bool = True) -> str:
    """Table of probes (kind, node, counts per verdict, estimate), what ran for a probe that says
    (``extra["ran"]``, e.g. real WireGuard), each connection (unless ``connections`` is false) and the
    expectation checks."""
    lines = [f"natsim {result.source} result" + (f" — scenario {result.scenario}" if result.scenario else "")
             + f" (time_scale {result.time_scale:g}; all times real-world)"]
    lines.extend(devices(result))
    broken = [p for p in result.probes if p.extra.get("error")]
    if broken:
        lines.append(f"INCOMPLETE: {len(broken)} probe{'s' if len(broken) > 1 else ''} could not run "
                     "(exit 3); below is what the others measured.")
        lines.extend(f"  FAILED {p.name} ({p.kind}): {one_line(str(p.extra['error']))}"
                     + (f" — log: {p.extra['log']}" if p.extra.get("log") else "") for p in broken)
    elif not result.complete:
        lines.append("INCOMPLETE: the run was stopped early; results below are what was measured.")
    lines.append(f"{'probe':<18}{'kind':<19}{'node':<10}{'verdicts':<34}estimate")
    for probe in result.probes:
        counts = Counter(c.verdict.value for c in probe.connections)
        verdicts = ", ".join(f"{n} {v}" for v, n in sorted(counts.items())) or "-"
        timed = any(c.idle > 0 for c in probe.connections)
        estimate = (probe.estimate or estimate_timeout(probe.connections)).describe() if timed else "-"
        if probe.extra.get("bracket"):
            lo, hi = probe.extra["bracket"]
            estimate = f"bypass between {format_duration(lo)} and {format_duration(hi)}"
        lines.append(f"{probe.name:<18}{probe.kind:<19}{probe.node or '-':<10}{verdicts:<34}{estimate}")
    lines.extend(f"{p.name} ran {p.extra['ran']}" for p in result.probes if p.extra.get("ran"))
    for probe in result.probes if connections else []:
        found = probe.extra.get("summary")   # a kind's one-line finding (nat-type: its NAT type)
        lines.append(f"\n{probe.name}:" + (f" {found}" if found else ""))
        width = max((len(c.label) for c in probe.connections), default=0)
        for conn in sorted(probe.connections, key=lambda c: c.index):
            how = f" ({conn.how})" if conn.how else ""
            why = f" — {conn.explanation}" if conn.explanation else ""
            idle = format_duration(conn.idle)
            label = f" {conn.label:<{width}}" if width else ""
            lines.append(f"  #{conn.index:<4}{label} idle {idle:>8}  {conn.verdict.value}{how}{why}")
    if result.unscaled:
        lines.append("\nnot scaled by the lab (real-world values differ): " + "; ".join(result.unscaled))
    if checks:
        lines.append("\nexpectations:")
        lines.extend("  " + c.describe() for c in checks)
        failed = sum(not c.ok for c in checks)
        lines.append(f"{len(checks) - failed} of {len(checks)} expectations hold")
    return "\n".join(lines) + "\n"


def devices(result: RunResult) -> list[str]:
    """One line per middlebox built from a device preset (``APPROXIMATE`` when a source is [weak])."""
    return [f"{node}: {preset_line(preset)}" for node, preset in sorted(result.presets.items())]


def one_line(text: str, limit: int = 300) -> str:
    """A (possibly multi-line) error as one line: its first and last non-empty lines, at most ``limit``
    characters (a tool's output ends with its own error line, a traceback with the exception)."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()] or [""]
    joined = lines[0] if len(lines) == 1 else f"{lines[0]} ... {lines[-1]}"
    return joined if len(joined) <= limit else joined[: limit - 3] + "..."

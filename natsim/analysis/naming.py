"""Which probe connection each captured connection is: ``send #59`` instead of ``c191``.

A ``natsim run`` directory holds ``result.json`` beside ``pcap/``. A probe connection there records the
client's own address:port (``local``) where the probe knows it (the TCP probes, the Go-like SSH client)
and its probe's ``target``: the captured connection whose initiator used that address towards that
target is that probe connection. A probe whose connections carry no address (OpenSSH's ``ssh``) is
matched by order when its captured connections follow one another (none starts before the previous
one ended) and are exactly as many as its connections; otherwise they are named ``PROBE #?``.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

from natsim.analysis.connections import Connection
from natsim.report.schema import ProbeResult, RunResult

RESULT = "result.json"
#: Connections of one probe may overlap this much (lab seconds) and still count as one after another.
SEQUENTIAL_SLACK = 0.05


def find_result(directory: Path) -> RunResult | None:
    """The ``result.json`` of the run a capture directory belongs to (itself or its parent), if any."""
    for candidate in (directory / RESULT, directory.parent / RESULT):
        if candidate.is_file():
            try:
                return RunResult.load(candidate)
            except (OSError, ValueError, KeyError, TypeError):
                return None
    return None


def _initiators(conn: Connection) -> set[str]:
    return {pair[0] for pair in conn.endpoints.values()}


def _responders(conn: Connection) -> set[str]:
    return {pair[1] for pair in conn.endpoints.values()}


def _by_order(probe: ProbeResult, candidates: list[Connection], names: dict[str, str]) -> None:
    """Name ``probe``'s unaddressed connections by order, where that is unambiguous."""
    waiting = sorted((c for c in probe.connections if not c.local), key=lambda c: c.index)
    ordered = sorted(candidates, key=lambda c: c.start)
    one_after_another = all(b.start >= a.end - SEQUENTIAL_SLACK for a, b in itertools.pairwise(ordered))
    if len(ordered) == len(waiting) and one_after_another:
        for conn, result in zip(ordered, waiting, strict=True):
            names[conn.id] = f"{probe.name} {result.name}"
    else:
        for conn in ordered:
            names[conn.id] = f"{probe.name} #?"


def probe_names(connections: Sequence[Connection], result: RunResult | None) -> dict[str, str]:
    """Capture id → probe connection name (``send #59``, ``sessions #1 serveralive-300``) for every
    captured connection ``result`` accounts for; the others keep their capture id only."""
    if result is None:
        return {}
    index: dict[tuple[str, str], list[Connection]] = defaultdict(list)
    for conn in sorted(connections, key=lambda c: c.start):
        for local in _initiators(conn):
            for target in _responders(conn):
                index[(local, target)].append(conn)
    names: dict[str, str] = {}
    for probe in result.probes:
        for row in sorted(probe.connections, key=lambda c: c.index):
            if not row.local:
                continue
            found = next((c for c in index.get((row.local, probe.target), []) if c.id not in names), None)
            if found is not None:
                names[found.id] = f"{probe.name} {row.name}"
    for probe in result.probes:
        if any(not c.local for c in probe.connections):
            candidates = [c for c in connections if c.id not in names and c.initiator == probe.node
                          and probe.target in _responders(c)]
            _by_order(probe, candidates, names)
    return names

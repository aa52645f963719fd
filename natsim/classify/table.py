"""What ``natsim classify`` prints: the table of expected against reported, its JSON, its exit code."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from natsim.classify.findings import NAMES, Verdict, shown
from natsim.classify.matrix import Row
from natsim.errors import EXIT_CHECK_FAILED, EXIT_OK, EXIT_PROBE_FAILED

#: Lines of a configuration's output shown under the table when it was not understood.
TAIL = 12
LEGEND = ("EIM/ADM/APDM: endpoint-independent, address-dependent, address-and-port-dependent mapping "
          "(RFC 4787); EIF/ADF/APDF: the same filtering; -: not reported")


def _cells(row: Row) -> list[str]:
    expected = row.config.expected.values()
    reported = row.reported.values() if row.reported is not None else dict.fromkeys(NAMES)
    cells = [row.config.name]
    for name in NAMES:
        cells += [shown(name, expected[name]), shown(name, reported[name])]
    verdict = row.verdict.value + (f": {', '.join(row.differs)}" if row.differs else "")
    return [*cells, verdict]


def format_table(rows: Sequence[Row]) -> str:
    """The table, a count of the verdicts, the legend, then the output of every configuration whose
    output was not understood or that gave no answer."""
    head = [["configuration", "mapping", "", "filtering", "", "hairpinning", "", "verdict"],
            ["", *(["expected", "reported"] * len(NAMES)), ""]]
    body = [_cells(row) for row in rows]
    widths = [max(len(line[i]) for line in head + body) for i in range(len(head[0]))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
             for line in head + body]
    counts = Counter(row.verdict for row in rows)
    tally = ", ".join(f"{counts[v]} {v.value}" for v in Verdict)
    lines.append(f"{len(rows)} configuration{'s' * (len(rows) != 1)}: {tally}")
    lines.append(LEGEND)
    for row in rows:
        if row.verdict in (Verdict.UNPARSED, Verdict.NO_ANSWER):
            lines += _shown_raw(row)
    return "\n".join(lines) + "\n"


def _shown_raw(row: Row) -> list[str]:
    """A configuration's verdict, why, and the end of what it printed (stdout, then stderr)."""
    lines = [f"{row.config.name} ({row.config.client}): {row.verdict.value}"
             + (f": {row.detail}" if row.detail else "")]
    for stream, text in (("stdout", row.stdout), ("stderr", row.stderr)):
        tail = text.rstrip("\n").splitlines()[-TAIL:]
        if tail:
            lines.append(f"  {stream} (last {len(tail)} lines):")
            lines += [f"  | {line}" for line in tail]
    return lines


def to_json(scenario: str, command: str, parser: str, rows: Sequence[Row]) -> dict[str, Any]:
    """The JSON document of ``natsim classify --json``."""
    counts = Counter(row.verdict for row in rows)
    return {"scenario": scenario, "command": command, "parser": parser,
            "counts": {v.value: counts[v] for v in Verdict},
            "configurations": [row.to_dict() for row in rows]}


def exit_code(rows: Sequence[Row], fail_on_disagree: bool) -> int:
    """3 when a configuration gave no answer or output no parser understood (the comparison could not
    be made); else 1 with ``fail_on_disagree`` when one disagrees; else 0."""
    verdicts = {row.verdict for row in rows}
    if verdicts & {Verdict.NO_ANSWER, Verdict.UNPARSED}:
        return EXIT_PROBE_FAILED
    return EXIT_CHECK_FAILED if fail_on_disagree and Verdict.DISAGREE in verdicts else EXIT_OK

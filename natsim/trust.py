"""Scenarios and topology files are code: what natsim runs only when the user says ``--trust``.

Two things in a scenario can run code of its author's choosing: a probe whose kind declares the
ability (:attr:`natsim.probes.registry.ProbeKind.user_code` says what its options would run, as root
inside a lab node, whose namespace shares the host's filesystem and processes), and a topology loaded
from a file outside natsim's shipped ``topologies/`` (Python, executed when the scenario is
loaded, even by ``natsim predict``). Such a scenario is refused unless trusted; the refusal lists
exactly what would run. This module knows no probe kind: it formats what the kinds declare.
Shipped scenarios and topologies, commands typed on the command line (``--probe-cmd``, ``natsim lab
--run``) and the pytest fixtures' arguments are explicit and trusted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from natsim.errors import UntrustedCodeError
from natsim.probes.options import UserCode
from natsim.yamlpos import Located

#: ``--help`` text of every command's ``--trust``.
TRUST_HELP = ("allow this scenario/topology to run its own code: what its probes' options say to run "
              "(command lines, ssh options) runs as root in lab nodes, topology files are Python")
#: How a refusal ends.
HOW_TO_ALLOW = "Read it first; to allow it, pass --trust (from Python: trust=True)."


@dataclass(frozen=True)
class Code:
    """One thing a scenario would run: where it is in the file, its refusal line, a note on it."""

    where: tuple[str | int, ...]
    line: str
    note: str = ""


def probe_code(index: int, name: str, kind: str, node: str, code: UserCode) -> Code:
    """What probe number ``index`` (named ``name``, of kind ``kind``, run on ``node``) would run."""
    return Code(("probes", index, "options", *code.where),
                f"probe '{name}' ({kind}) runs as root, inside lab node {node}: {code.runs}", code.note)


def refusal(what: str, items: Sequence[str], *, notes: Sequence[str] = (), source: str | None = None,
            line: int | None = None, column: int | None = None) -> UntrustedCodeError:
    """The error refusing ``what`` (e.g. "this scenario"), listing each item that would run, then each
    note once."""
    lines = [f"{what} runs its own code, which natsim runs only with --trust:"]
    lines += [f"  - {item}" for item in items]
    lines += [f"  ({note})" for note in dict.fromkeys(n for n in notes if n)]
    lines.append(HOW_TO_ALLOW)
    return UntrustedCodeError("\n".join(lines), source, line, column)


def check_scenario(doc: Located, found: Sequence[Code]) -> None:
    """Refuse the scenario in ``doc`` when ``found`` lists anything it would run (each item gets the
    line it is on; the error points at the first)."""
    if not found:
        return
    items = []
    for code in found:
        line, _ = doc.where(code.where)
        items.append(f"{code.line} (line {line})" if line is not None else code.line)
    line, column = doc.where(found[0].where)
    raise refusal("this scenario", items, notes=[c.note for c in found], source=doc.source, line=line,
                  column=column)

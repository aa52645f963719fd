"""Scenarios and topology files are code: what natsim runs only when the user says ``--trust``.

Two things in a scenario run code of its author's choosing: a ``command`` probe (``sh -c ARGV`` as
root inside a lab node, whose namespace shares the host's filesystem and processes) and a topology
loaded from a file outside natsim's shipped ``natsim/topologies/`` (Python, executed when the scenario is
loaded, even by ``natsim predict``). Such a scenario is refused unless trusted; the refusal lists
exactly what would run. Shipped scenarios and topologies, commands typed on the command line
(``--probe-cmd``, ``natsim lab --run``) and the pytest fixtures' arguments are explicit and trusted.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from typing import Any

from natsim.errors import UntrustedCodeError
from natsim.yamlpos import Located

#: ``--help`` text of every command's ``--trust``.
TRUST_HELP = ("allow this scenario/topology to run its own code: command probes run as root in lab "
              "nodes, topology files are Python")
#: How a refusal ends.
HOW_TO_ALLOW = "Read it first; to allow it, pass --trust (from Python: trust=True)."


def command_line(argv: str) -> str:
    """The exact shell command line a ``command`` probe runs."""
    return f"sh -c {shlex.quote(argv)}"


def command_item(name: str, node: str, argv: str) -> str:
    """One refusal line for a command probe."""
    return f"probe '{name}' (command) runs as root, inside lab node {node}: {command_line(argv)}"


def refusal(what: str, items: Sequence[str], *, commands: bool = False, source: str | None = None,
            line: int | None = None, column: int | None = None) -> UntrustedCodeError:
    """The error refusing ``what`` (e.g. "this scenario"), listing each item that would run;
    ``commands``: some items are command probes."""
    lines = [f"{what} runs its own code, which natsim runs only with --trust:"]
    lines += [f"  - {item}" for item in items]
    if commands:
        lines.append("  (node names after a command's first word are replaced by their addresses)")
    lines.append(HOW_TO_ALLOW)
    return UntrustedCodeError("\n".join(lines), source, line, column)


def command_probes(doc: Located) -> list[tuple[tuple[str | int, ...], str]]:
    """(position, refusal line) of each ``command`` probe in a parsed, not yet validated scenario.

    Read leniently (defaults as the loader applies them), so the refusal comes before validation and
    before any topology file runs; a malformed probe is left to the validation that follows.
    """
    probes = doc.data.get("probes") if isinstance(doc.data, dict) else None
    found = []
    for i, raw in enumerate(probes if isinstance(probes, list) else []):
        if not isinstance(raw, dict) or str(raw.get("kind", "")) != "command":
            continue
        options: Any = raw.get("options") or {}
        argv = str(options.get("argv", "")) if isinstance(options, dict) else ""
        where: tuple[str | int, ...] = ("probes", i, "options", "argv") if argv else ("probes", i)
        found.append((where, command_item(str(raw.get("name", "command")), str(raw.get("client", "client")),
                                          argv)))
    return found


def check_scenario(doc: Located, topology: str | None, *, commands_trusted: bool) -> None:
    """Refuse the scenario in ``doc`` unless it runs no code of its own.

    ``topology`` is the refusal line of an untrusted topology file (None: shipped or trusted);
    ``commands_trusted`` skips the command probes (a shipped scenario, or ``--trust``).
    """
    found: list[tuple[tuple[str | int, ...], str]] = []
    if topology is not None:
        found.append((("topology",), topology))
    commands = [] if commands_trusted else command_probes(doc)
    found += commands
    if not found:
        return
    items = []
    for path, item in found:
        line, _ = doc.where(path)
        items.append(f"{item} (line {line})" if line is not None else item)
    line, column = doc.where(found[0][0])
    raise refusal("this scenario", items, commands=bool(commands), source=doc.source, line=line,
                  column=column)

"""``natsim lab up|exec|list|down``: a lab that stays up between commands (docs/lab.md, "A lab that
stays up")."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

from natsim.cliargs import add_time_scale, parse_sets
from natsim.commands.common import add_trust
from natsim.errors import ConfigError, KeptLabError
from natsim.lab.topology import find_topology
from natsim.paths import check_name
from natsim.probes.ssh.backends import LAB_PASSWORD
from natsim.units import TimeScale, format_duration

if TYPE_CHECKING:
    from natsim.lab.kept import KeptLab, Registry

#: How many generated names (``TOPOLOGY-1``, ``-2`` ...) ``lab up`` tries before giving up.
_NAMES_TRIED = 100


def register(verbs: Any) -> None:
    """Add ``up``, ``exec``, ``list`` and ``down`` to ``natsim lab``'s sub-parsers ``verbs``."""
    up = verbs.add_parser(
        "up", help="bring a lab up and return; it stays up until `natsim lab down NAME`",
        description="Bring up TOPOLOGY as `natsim lab` does and return once it is up, printing its name, "
        "its map and how to use it. A keeper process holds it (as root a detached natsim; without root "
        "the holder of natsim's own namespaces, which the lab dies with). `natsim lab list` shows it, "
        "`natsim lab exec` runs commands in it, `natsim lab down` removes it.",
        epilog="example: natsim lab up home-nat --time-scale 60 --name lab1")
    up.add_argument("topology", help="a shipped topology name or FILE.py[:NAME] (as for `natsim lab`)")
    up.add_argument("--set", action="append", metavar="NODE.SETTING=VALUE",
                    help="middlebox setting, real-world units (repeatable)")
    add_time_scale(up, note="60: 1 h runs in 1 min")
    up.add_argument("--name", help="the lab's name (letters, digits, '.', '_', '-'; unique among your "
                    "labs; default TOPOLOGY-N)")
    up.add_argument("--sshd", action="append", metavar="NODE",
                    help=f"run OpenSSH sshd in NODE (user root, password '{LAB_PASSWORD}'; repeatable)")
    up.add_argument("--json", action="store_true",
                    help="print one JSON document (name, mode, keeper, map) instead of text")
    add_trust(up)
    up.set_defaults(func=run_up)

    run = verbs.add_parser(
        "exec", help="run a command in a node of a lab that is up",
        description="Run CMD in NODE of lab NAME and exit with its exit code. Node names among CMD's "
        "arguments (after the first, and in USER@NODE) become their addresses, as in the Mininet CLI of "
        "`natsim lab`. With a terminal on standard input CMD gets a terminal of its own (shells, ssh "
        "password prompts); otherwise it reads and writes natsim's standard streams.",
        epilog="example: natsim lab exec lab1 client ping -c 1 server; a shell: natsim lab exec lab1 "
        "client bash")
    run.add_argument("name", help="the lab's name (`natsim lab list`)")
    run.add_argument("node", help="a node of the lab")
    run.add_argument("command", nargs=argparse.REMAINDER, metavar="CMD", help="the command and its arguments")
    run.set_defaults(func=run_exec)

    listing = verbs.add_parser("list", help="show the labs that are up",
                               description="Show your labs that are up: name, topology, age, time scale, "
                               "owner, mode (root or rootless) and state (up; broken or gone when its "
                               "keeper was killed: `natsim lab down NAME` removes it).")
    listing.add_argument("--json", action="store_true", help="one JSON list instead of a table")
    listing.set_defaults(func=run_list)

    down = verbs.add_parser("down", help="take a lab down",
                            description="Take lab NAME down: its keeper tears it down. When the keeper was "
                            "killed, what it left is removed through the lab's record (root), or there "
                            "is nothing left (rootless: the kernel removed it). Exit 0 when nothing is left.")
    down.add_argument("name", help="the lab's name (`natsim lab list`)")
    down.set_defaults(func=run_down)


def run_up(args: argparse.Namespace) -> int:
    """Check everything, reserve the name, start the keeper, print how to use the lab."""
    from natsim.lab.keeper import start
    from natsim.lab.kept import KeptLab, Registry, owner_name
    from natsim.lab.lab import lab_from_settings
    from natsim.lab.userns_support import Mode, lab_mode

    name = check_name(args.name, "lab name") if args.name else None
    lab = lab_from_settings(find_topology(args.topology, trust=args.trust), parse_sets(args.set),
                            TimeScale(args.time_scale))
    for node in args.sshd or []:
        if node not in lab.specs:
            raise ConfigError(f"--sshd: no node '{node}' (nodes: {', '.join(lab.specs)})")
    mode = lab_mode()
    with Registry.open() as registry:
        entry = KeptLab(name or "", lab.topology_name, lab.time_scale.factor, mode.value, owner_name(),
                        sshd=list(args.sshd or []))
        _reserve(registry, entry, generated=name is None)
        entry = start(lab, entry.sshd, entry, registry, rootless=mode is Mode.ROOTLESS)
    if args.json:
        print(json.dumps(_as_json(entry), indent=2), flush=True)
    else:
        print(_usage(entry), flush=True)
    return 0


def _reserve(registry: Registry, entry: KeptLab, *, generated: bool) -> None:
    """Reserve ``entry``'s name (a generated one: the first free ``TOPOLOGY-N``)."""
    from natsim.lab.keeper import reserve

    if not generated:
        reserve(registry, entry)
        return
    base = entry.topology.replace("/", "-").rsplit(".py", 1)[0][-40:] or "lab"
    for number in range(1, _NAMES_TRIED + 1):
        entry.name = f"{base}-{number}"
        if registry.load(entry.name) is None:
            try:
                reserve(registry, entry)
                return
            except KeptLabError:
                continue   # taken in the meantime by another natsim
    raise KeptLabError(f"{base}-1 to {base}-{_NAMES_TRIED} are all taken: give the lab a --name")


def _usage(entry: KeptLab) -> str:
    """What ``lab up`` prints: the map, then how to use the lab."""
    from natsim.commands.watch import tracking_nodes
    from natsim.report.labmap import format_map

    lines = [format_map(entry.map)]
    for node in entry.sshd:
        address = entry.addresses.get(node, node)
        lines.append(f"sshd on {node}: ssh root@{address} (password '{LAB_PASSWORD}')")
    keeper = entry.keeper.pid if entry.keeper is not None else "?"
    nodes = list(entry.anchors)
    lines += [f"lab {entry.name} is up ({entry.mode} mode, kept by process {keeper}). Use it with:",
              f"  natsim lab exec {entry.name} NODE CMD...   e.g. natsim lab exec {entry.name} {nodes[0]} "
              f"ip -br addr  (a shell: natsim lab exec {entry.name} {nodes[0]} bash)"]
    tracked = tracking_nodes(entry)
    if tracked:
        lines.append(f"  natsim watch {entry.name} {tracked[0]}   its conntrack table, live")
    lines += ["  natsim lab list                 the labs that are up",
              f"  natsim lab down {entry.name}   remove it"]
    return "\n".join(lines)


def _as_json(entry: KeptLab) -> dict[str, Any]:
    """A lab as ``lab up --json`` and ``lab list --json`` show it."""
    return {"name": entry.name, "lab_id": entry.lab_id, "topology": entry.topology,
            "time_scale": entry.time_scale, "mode": entry.mode, "owner": entry.owner,
            "status": entry.status().value, "age": round(entry.age(), 1), "created": entry.created,
            "keeper": entry.keeper.pid if entry.keeper is not None else None,
            "nodes": list(entry.roles), "addresses": entry.addresses, "sshd": entry.sshd, "map": entry.map}


def run_exec(args: argparse.Namespace) -> int:
    """Run the command in the node; its exit code."""
    from natsim.lab.attach import attach
    from natsim.lab.join import words
    from natsim.lab.kept import Registry

    if not args.command:
        raise ConfigError(f"natsim lab exec {args.name} {args.node}: no command given (e.g. `bash`)")
    with Registry.open(create=False) as registry:
        lab = registry.get(args.name)
        command = words(lab, args.command)
        return attach(lab, args.node, command, lambda: registry.load(args.name))


def run_list(args: argparse.Namespace) -> int:
    """Print the labs (text or JSON)."""
    from natsim.lab.kept import Registry

    with Registry.open(create=False) as registry:
        labs = registry.entries()
    if args.json:
        print(json.dumps([_as_json(lab) for lab in labs], indent=2))
        return 0
    if not labs:
        print("no labs are up (natsim lab up TOPOLOGY brings one up)")
        return 0
    rows = [("NAME", "TOPOLOGY", "AGE", "TIME SCALE", "OWNER", "MODE", "STATE")]
    rows += [(lab.name, lab.topology, format_duration(int(lab.age())), f"{lab.time_scale:g}", lab.owner,
              lab.mode, lab.status().value) for lab in labs]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    return 0


def run_down(args: argparse.Namespace) -> int:
    """Take the lab down; 2 when something is left."""
    from natsim.lab.keeper import stop
    from natsim.lab.kept import Registry, Status

    with Registry.open(create=False) as registry:
        lab = registry.get(args.name)
        status = lab.status()
        left = stop(lab, registry)
    if left:
        print(f"natsim: error: lab {lab.name}: could not remove {', '.join(left)}", file=sys.stderr)
        return 2
    if status is Status.GONE and lab.rootless:
        print(f"lab {lab.name} was gone: the kernel removed it with its keeper; nothing is left")
    elif status in (Status.BROKEN, Status.GONE):
        print(f"lab {lab.name} is down (its keeper was gone; what it left was removed)")
    else:
        print(f"lab {lab.name} is down")
    return 0

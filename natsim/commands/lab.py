"""``natsim lab TOPOLOGY``: bring a lab up, show its map, open the Mininet CLI (or ``--run``)."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from typing import Any

from natsim.cliargs import parse_sets
from natsim.commands.common import add_time_scale, add_trust, time_scale
from natsim.errors import ConfigError
from natsim.lab.topology import find_topology
from natsim.privileges import require_root
from natsim.report.labmap import format_map

SSHD_PASSWORD = "natsim"


def register(sub: Any) -> None:
    """Add ``natsim lab``."""
    parser = sub.add_parser(
        "lab", help="bring up a topology with its middleboxes, interactively or with --run",
        description="Bring up TOPOLOGY in network namespaces, print its map, then open the Mininet "
        "CLI (e.g. `cpe conntrack -L`, `client ping server`) or run --run commands; everything "
        "is torn down on exit.",
        epilog="example: natsim lab isp-bridge-cgn --set cpe.idle_timeout=1h --time-scale 60 "
        "--run 'cpe nft list ruleset'")
    parser.add_argument("topology", help="topology name (`natsim list` shows them) or FILE.py[:NAME]")
    parser.add_argument("--set", action="append", metavar="NODE.SETTING=VALUE",
                        help="middlebox setting, real-world units (repeatable)")
    add_time_scale(parser)
    parser.add_argument("--run", action="append", metavar="'NODE CMD'",
                        help="run CMD in NODE, print its output, tear down (repeatable)")
    parser.add_argument("--sshd", action="append", metavar="NODE",
                        help="run OpenSSH sshd in NODE (throw-away host key; user root, password "
                        "'natsim'), so e.g. `client ssh server` works (repeatable)")
    parser.add_argument("--json", action="store_true", help="print the map as JSON")
    add_trust(parser)
    parser.set_defaults(func=run)


def _parse_run(item: str) -> tuple[str, str]:
    node, _, cmd = item.strip().partition(" ")
    if not node or not cmd.strip():
        raise ConfigError(f"--run {item!r}: expected 'NODE COMMAND'")
    return node, cmd.strip()


def run(args: argparse.Namespace) -> int:
    """Validate everything first, then bring the lab up."""
    from natsim.lab.lab import lab_from_settings
    from natsim.lab.sshd import openssh_server

    commands = [_parse_run(item) for item in args.run or []]
    topology = find_topology(args.topology, trust=args.trust)
    lab = lab_from_settings(topology, parse_sets(args.set), time_scale(args.time_scale))
    for option, nodes in (("--run", [n for n, _ in commands]), ("--sshd", args.sshd or [])):
        for node in nodes:
            if node not in lab.specs:
                raise ConfigError(f"{option}: no node '{node}' (nodes: {', '.join(lab.specs)})")
    require_root("natsim lab")
    with lab, contextlib.ExitStack() as stack:
        for node in args.sshd or []:
            stack.enter_context(openssh_server(lab, node, password=SSHD_PASSWORD))
        description = lab.describe()
        print(json.dumps(description, indent=2) if args.json else format_map(description), flush=True)
        for node in args.sshd or []:
            print(f"sshd on {node}: ssh root@{lab.address(node)} (password '{SSHD_PASSWORD}')", flush=True)
        if commands:
            worst = 0
            for node, cmd in commands:
                print(f"--- {node}$ {cmd}", flush=True)
                code, output = lab.run(node, lab.substitute(cmd), timeout=None)
                sys.stdout.write(output)
                if code:
                    print(f"--- exit {code}")
                worst = worst or code
            return 0 if worst == 0 else 1
        from natsim.lab.mininet_compat import CLI

        print("Mininet CLI: `NODE CMD` runs CMD in NODE (e.g. `cpe conntrack -L`); `exit` tears down.")
        CLI(lab.net)
    return 0




"""``natsim lab TOPOLOGY``: bring a lab up, show its map, open the Mininet CLI (or ``--run``); and
``natsim lab up|exec|list|down`` (:mod:`natsim.commands.lab_verbs`): a lab that stays up."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from natsim.cliargs import add_time_scale, parse_sets
from natsim.commands import lab_verbs
from natsim.commands.common import add_trust, builds_labs
from natsim.errors import ConfigError
from natsim.lab.topology import find_topology
from natsim.privileges import require_lab_privileges
from natsim.probes.ssh.backends import LAB_PASSWORD
from natsim.units import TimeScale

if TYPE_CHECKING:   # the lab (and Mininet) load when a lab is built, not for --help
    from natsim.lab.lab import Lab
from natsim.report.labmap import format_map

#: Wall-clock seconds a ``--run`` command may take by default.
RUN_TIMEOUT = 300.0
#: The exit code of a ``--run`` command stopped at ``--run-timeout`` (the one ``timeout(1)`` uses).
TIMED_OUT = 124


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected wall-clock seconds, got {text!r}") from None
    if value < 0 or value != value:
        raise argparse.ArgumentTypeError(f"must be 0 (no limit) or more, got {text!r}")
    return value


class _LabParser(argparse.ArgumentParser):
    """``natsim lab TOPOLOGY ...`` or ``natsim lab up|exec|list|down ...``: the first word decides which
    (so a topology cannot be called ``up``, ``exec``, ``list`` or ``down``; ``FILE.py`` still can)."""

    verbs: argparse._SubParsersAction  # type: ignore[type-arg]

    def parse_known_args(self, args: Sequence[str] | None = None,   # type: ignore[override]
                         namespace: argparse.Namespace | None = None) -> tuple[argparse.Namespace, list[str]]:
        words = list(sys.argv[1:] if args is None else args)
        if words and words[0] in self.verbs.choices:
            verb: argparse.ArgumentParser = self.verbs.choices[words[0]]
            return verb.parse_known_args(words[1:], namespace)
        return super().parse_known_args(words, namespace)


def register(sub: Any) -> None:
    """Add ``natsim lab``."""
    parser = sub.add_parser(
        "lab", help="bring up a topology with its middleboxes, interactively or with --run; or keep "
        "one up (up, exec, list, down)",
        usage="natsim lab TOPOLOGY [--set NODE.SETTING=VALUE] [--time-scale S] [--run 'NODE CMD'] "
        "[--sshd NODE] [--json] [--trust]\n       natsim lab {up,exec,list,down} ...",
        description="Bring up TOPOLOGY in network namespaces, print its map, then open the Mininet "
        "CLI (e.g. `cpe conntrack -L`, `client ping server`) or run --run commands; everything "
        "is torn down on exit. `natsim lab up` keeps a lab up between commands instead (`natsim lab "
        "up --help`).",
        epilog="example: natsim lab isp-bridge-cgn --set cpe.idle_timeout=1h --time-scale 60 "
        "--run 'cpe nft list ruleset'")
    parser.add_argument("topology", help="a shipped topology name (isp-bridge-cgn, home-nat, "
                        "dc-ssh-proxy, or one in $NATSIM_TOPOLOGIES; `natsim list` shows them) or "
                        "FILE.py[:NAME]")
    parser.add_argument("--set", action="append", metavar="NODE.SETTING=VALUE",
                        help="middlebox setting, real-world units (repeatable)")
    add_time_scale(parser, note="60: 1 h runs in 1 min")
    parser.add_argument("--run", action="append", metavar="'NODE CMD'",
                        help="run CMD in NODE (sh -c; node names after its first word, and in "
                        "USER@NODE, become addresses), print its output, tear down (repeatable). "
                        "natsim waits for CMD to exit, not for what it started in the background "
                        "('client socat ... &' returns at once; background processes end with the lab)")
    parser.add_argument("--run-timeout", type=_seconds, default=RUN_TIMEOUT, metavar="SECONDS",
                        help=f"stop a --run command still running after this many wall-clock seconds "
                        f"(exit code 124, as timeout(1)); 0: no limit (default {RUN_TIMEOUT:g})")
    parser.add_argument("--sshd", action="append", metavar="NODE",
                        help="run OpenSSH sshd in NODE (throw-away host key; user root, password "
                        f"'{LAB_PASSWORD}'), so e.g. `client ssh server` works (repeatable)")
    parser.add_argument("--json", action="store_true",
                        help="print the map as one JSON document on stdout (with --run: plus a \"runs\" "
                        "list of node, command, exit_code, output); every other message goes to stderr")
    add_trust(parser)
    parser.set_defaults(func=run)
    builds_labs(parser)
    parser.__class__ = _LabParser   # argparse makes every sub-parser an ArgumentParser
    parser.verbs = parser.add_subparsers(title="a lab that stays up", metavar="{up,exec,list,down}",
                                         prog="natsim lab", required=False,
                                         parser_class=argparse.ArgumentParser)
    lab_verbs.register(parser.verbs)


def _parse_run(item: str) -> tuple[str, str]:
    node, _, cmd = item.strip().partition(" ")
    if not node or not cmd.strip():
        raise ConfigError(f"--run {item!r}: expected 'NODE COMMAND'")
    return node, cmd.strip()


def run(args: argparse.Namespace) -> int:
    """Validate everything first, then bring the lab up."""
    from natsim.lab.lab import lab_from_settings
    from natsim.probes.ssh.sshd import openssh_server

    commands = [_parse_run(item) for item in args.run or []]
    topology = find_topology(args.topology, trust=args.trust)
    lab = lab_from_settings(topology, parse_sets(args.set), TimeScale(args.time_scale))
    for option, nodes in (("--run", [n for n, _ in commands]), ("--sshd", args.sshd or [])):
        for node in nodes:
            if node not in lab.specs:
                raise ConfigError(f"{option}: no node '{node}' (nodes: {', '.join(lab.specs)})")
    require_lab_privileges("natsim lab")
    with lab, contextlib.ExitStack() as stack:
        for node in args.sshd or []:
            stack.enter_context(openssh_server(lab, node, password=LAB_PASSWORD))
        human = sys.stderr if args.json else sys.stdout
        description = lab.describe()
        if not args.json:
            print(format_map(description), flush=True)
        for node in args.sshd or []:
            print(f"sshd on {node}: ssh root@{lab.address(node)} (password '{LAB_PASSWORD}')",
                  file=human, flush=True)
        if commands:
            return _run_commands(lab, commands, description if args.json else None,
                                 timeout=args.run_timeout or None)
        if args.json:
            print(json.dumps(description, indent=2), flush=True)
        from natsim.lab.mininet_compat import CLI

        print("Mininet CLI: `NODE CMD` runs CMD in NODE (e.g. `cpe conntrack -L`); `exit` tears down.",
              file=human, flush=True)
        # with --json, stdout holds only the map: the CLI's prompt and output go to stderr
        with contextlib.redirect_stdout(sys.stderr) if args.json else contextlib.nullcontext():
            CLI(lab.net)
    return 0


def _run_commands(lab: Lab, commands: list[tuple[str, str]], document: dict[str, Any] | None, *,
                  timeout: float | None) -> int:
    """Run each ``(node, cmd)`` (at most ``timeout`` wall seconds each); print as text, or
    (``document``, the map) print the map with a ``runs`` list of ``{node, command, exit_code,
    output}`` as one JSON document. 1 if any failed or timed out."""
    from natsim.errors import CommandTimeout

    runs = []
    for node, cmd in commands:
        if document is None:
            print(f"--- {node}$ {cmd}", flush=True)
        try:
            code, output = lab.run(node, cmd, timeout=timeout)
        except CommandTimeout as err:
            code, output = TIMED_OUT, err.output
            note = f"--- stopped after {err.timeout:g} s (--run-timeout)"
            output += ("" if not output or output.endswith("\n") else "\n") + note + "\n"
        runs.append({"node": node, "command": cmd, "exit_code": code, "output": output})
        if document is None:
            sys.stdout.write(output)
            if code:
                print(f"--- exit {code}", flush=True)
    if document is not None:
        print(json.dumps({**document, "runs": runs}, indent=2), flush=True)
    return 0 if all(r["exit_code"] == 0 for r in runs) else 1

"""``natsim watch LAB NODE``: a live view of a middlebox's conntrack table in a lab that is up.

rich's ``Live`` redraws a table in place about once per lab second (one real second: the kernel
counts in lab seconds); nothing more is needed (no widgets, one key), so not a full-screen framework
such as textual. ``q`` quits (standard input in cbreak mode while it runs), so does Ctrl-C (exit 0:
it is the usual way to leave a live view).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import select
import sys
import termios
import time
import tty
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from natsim.entry import Terminated
from natsim.errors import ConfigError, KeptLabError, LabError
from natsim.units import format_duration

if TYPE_CHECKING:
    from natsim.lab.flows import Flow
    from natsim.lab.kept import KeptLab

Pressed = Callable[[float], str]

#: Seconds between two readings: one lab second is one second of the kernel's clock.
REFRESH = 1.0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add ``natsim watch``."""
    parser = sub.add_parser(
        "watch", help="watch a middlebox's conntrack table and NAT mappings live, in a lab that is up",
        description="Show NODE's connection-tracking table in lab LAB (`natsim lab up`), refreshed "
        "about once per lab second: each flow's protocol and state, the time left before the kernel "
        "removes it in real-world units at the lab's time scale (the kernel's lab seconds x the time "
        "scale) and in lab seconds, its original direction and its NAT mapping (inside => public). "
        "q or Ctrl-C quits. NODE must be a middlebox that tracks connections.",
        epilog="example: natsim watch lab1 router; in a script: natsim watch lab1 router --once --json")
    parser.add_argument("lab", help="the lab's name (`natsim lab list`)")
    parser.add_argument("node", help="a middlebox of the lab that tracks connections")
    parser.add_argument("--once", action="store_true",
                        help="print one snapshot and exit (no terminal needed)")
    parser.add_argument("--json", action="store_true", help="with --once: the flows as one JSON list")
    parser.set_defaults(func=run)


def tracking_nodes(lab: KeptLab) -> list[str]:
    """The middleboxes of ``lab`` whose kind tracks connections (declares a conntrack policy); the
    others (an SSH proxy's ``tproxy`` rule) leave the node's conntrack table empty."""
    from natsim.lab.topology import ROLES_PLAIN, role_kind
    from natsim.middleboxes import kind

    kinds = {node: role_kind(role)[0] for node, role in lab.roles.items()}   # a role may be a preset
    return [node for node, name in kinds.items() if name not in ROLES_PLAIN and kind(name).policy is not None]


def tracked_node(lab: KeptLab, node: str) -> None:
    """:class:`KeptLabError` unless ``node`` is a middlebox of ``lab`` that tracks connections."""
    from natsim.lab.join import check_node

    check_node(lab, node)
    roles = lab.roles
    tracking = tracking_nodes(lab)
    if node not in tracking:
        what = roles.get(node, "node")
        raise KeptLabError(f"{node} is a {what} and has no conntrack state to watch (in lab {lab.name}: "
                           f"{', '.join(tracking) or 'none'})")


def run(args: argparse.Namespace) -> int:
    """One snapshot, or the live view until q or Ctrl-C."""
    from natsim.lab.kept import Registry

    if args.json and not args.once:
        raise ConfigError("--json needs --once (the live view is for a terminal)")
    with Registry.open(create=False) as registry:
        lab = registry.get(args.lab)
        tracked_node(lab, args.node)
        if args.once:
            return _once(lab, args.node, args.json)
        if not sys.stdout.isatty():
            raise ConfigError("natsim watch shows a live view in a terminal; use --once to print one "
                              "snapshot")
        return _live(lab, args.node, lambda: registry.load(args.lab))


def _title(lab: KeptLab, node: str, count: int, *, live: bool = False) -> str:
    scale = lab.time_scale
    return (f"natsim watch {lab.name} {node}: {count} flow{'s' * (count != 1)}, time scale {scale:g} "
            f"(1 lab second = {format_duration(scale)}), {time.strftime('%H:%M:%S')}"
            + ("; q or Ctrl-C quits" if live else ""))


def _once(lab: KeptLab, node: str, as_json: bool) -> int:
    from rich.console import Console

    from natsim.lab.flows import read
    from natsim.report.flowview import as_json as flows_json
    from natsim.report.flowview import table

    flows = read(lab, node)
    if as_json:
        print(json.dumps(flows_json(flows, lab.time_scale), indent=2))
    else:
        Console(width=max(160, Console().width)).print(table(flows, lab.time_scale,
                                                             _title(lab, node, len(flows))))
    return 0


def _live(lab: KeptLab, node: str, reload: Callable[[], KeptLab | None]) -> int:
    from rich.live import Live

    from natsim.lab.flows import read
    from natsim.report.flowview import table

    with _keys() as pressed, Live(auto_refresh=False, redirect_stdout=False) as live:
        try:
            while True:
                started = time.monotonic()
                flows = _read(lab.name, node, reload, read)
                live.update(table(flows, lab.time_scale, _title(lab, node, len(flows), live=True)),
                            refresh=True)
                if "q" in pressed(max(0.0, REFRESH - (time.monotonic() - started))):
                    return 0
        except Terminated:
            raise                 # SIGTERM, SIGHUP: interrupted (130)
        except KeyboardInterrupt:
            return 0              # Ctrl-C: the usual way to leave a live view


def _read(name: str, node: str, reload: Callable[[], KeptLab | None],
          read: Callable[[KeptLab, str], list[Flow]]) -> list[Flow]:
    """The flows now, read through the lab's current entry; the lab going down is one clear error."""
    from natsim.lab.kept import Status

    lab = reload()
    try:
        if lab is None:
            raise KeptLabError(f"no lab named {name!r} any more")
        return read(lab, node)
    except LabError as err:
        now = reload()
        if now is None or now.status() is not Status.UP:
            raise KeptLabError(f"lab {name} went down while watching {node}") from err
        raise


@contextlib.contextmanager
def _keys() -> Iterator[Pressed]:
    """A function ``pressed(timeout) -> str``: the keys typed within ``timeout`` seconds (standard
    input in cbreak mode meanwhile: keys arrive one by one, Ctrl-C still interrupts)."""
    if not sys.stdin.isatty():
        def wait(timeout: float) -> str:
            time.sleep(timeout)
            return ""

        yield wait
        return
    fd = sys.stdin.fileno()
    saved = termios.tcgetattr(fd)
    tty.setcbreak(fd)

    def pressed(timeout: float) -> str:
        ready, _, _ = select.select([fd], [], [], timeout)
        return os.read(fd, 64).decode(errors="replace").lower() if ready else ""

    try:
        yield pressed
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)

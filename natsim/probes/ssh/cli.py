"""The SSH probes as tools (``natsim probe ssh-first-connect|ssh-bypass-timer|ssh-kex|ssh-idle``): the
flags each adds to its kind's, the run, the table it prints.

Each prints a table and, with ``--out FILE``/``--json``, hands over a
:class:`~natsim.report.schema.RunResult` holding one probe. Exit 0 when the probe ran, 2 on usage or
set-up errors.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any

from natsim.probes.options import from_cli
from natsim.probes.registry import ProbeKind, ToolBuilder
from natsim.probes.results import check_out, hand_out
from natsim.probes.ssh.backends import LAB_PASSWORD, LAB_USER
from natsim.probes.ssh.idle import REPLY_TIMEOUT_WALL
from natsim.probes.ssh.openssh import OpenSshClient
from natsim.probes.ssh.options import SshBypassTimerOptions, SshFirstConnectOptions, SshIdleOptions
from natsim.probes.tally import TallyWriter
from natsim.report.schema import ProbeResult, RunResult
from natsim.units import TimeScale, format_duration

if TYPE_CHECKING:
    from natsim.probes.ssh.login import SshLogin

# The probe modules (asyncssh among their imports) load when a probe runs, not when the parser is
# built: `natsim --help` stays fast.

Probe = Callable[[argparse.Namespace], Coroutine[Any, Any, ProbeResult]]
#: The lines a tool prints below its table.
Closing = Callable[[ProbeResult], list[str]]


def _target(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--target", required=True, metavar="HOST:PORT", help="the SSH server")


def _login_tool(probe: Probe, closing: Closing) -> ToolBuilder:
    """A tool that logs in: the target, the account, OpenSSH's state, the command after login."""
    def build(parser: argparse.ArgumentParser, kind: ProbeKind) -> Callable[[argparse.Namespace], int]:
        _target(parser)
        parser.add_argument("--user", default=LAB_USER, help=f"login name (default {LAB_USER})")
        parser.add_argument("--password", default=LAB_PASSWORD,
                            help="password (OpenSSH: fed by SSH_ASKPASS; default: the lab's)")
        parser.add_argument("--workdir", type=Path, default=None,
                            help="OpenSSH state (throw-away keys and known_hosts; default: a new temp dir)")
        parser.add_argument("--command", default="true", help="command run after login (default true)")
        return lambda args: _run(args, probe, closing, scratch=True)
    return build


def _kex_tool(parser: argparse.ArgumentParser, kind: ProbeKind) -> Callable[[argparse.Namespace], int]:
    _target(parser)
    parser.add_argument("--timeout", type=float, default=10.0, help="wall seconds (default 10)")
    return lambda args: _run(args, _kex, _kex_lines, scratch=False)


def _idle_tool(parser: argparse.ArgumentParser, kind: ProbeKind) -> Callable[[argparse.Namespace], int]:
    _target(parser)
    parser.add_argument("--user", default="root", help="login name (default root)")
    parser.add_argument("--password", default=None,
                        help="password (default: the throw-away key in --workdir)")
    parser.add_argument("--workdir", type=Path, default=None, help="holds id_ed25519 (the throw-away key)")
    parser.add_argument("--reply-timeout", type=float, default=REPLY_TIMEOUT_WALL,
                        help="wall seconds to wait for the echo after the idle time "
                        f"(default {REPLY_TIMEOUT_WALL:g})")
    return lambda args: _run(args, _idle, _survivors, scratch=True)


# ---- runners --------------------------------------------------------------------------------------

def _make_login(args: argparse.Namespace, client: str) -> SshLogin:
    from natsim.probes.ssh.login import SshLogin

    openssh = OpenSshClient(args.workdir) if args.workdir else None
    return SshLogin(user=args.user, password=args.password, client=client, command=args.command,
                    openssh=openssh)


async def _first_connect(args: argparse.Namespace) -> ProbeResult:
    from natsim.probes.ssh.first_connect import first_connect
    from natsim.probes.ssh.login import parse_target

    host, port = parse_target(args.target)
    options = from_cli(SshFirstConnectOptions, args)
    return await first_connect(host, port, attempts=options.attempts,
                               login=_make_login(args, options.client_impl), interval=options.interval,
                               time_scale=TimeScale(args.time_scale), name=args.name, node=args.node,
                               on_result=TallyWriter(args.progress, options.attempts).record)


async def _bypass_timer(args: argparse.Namespace) -> ProbeResult:
    from natsim.probes.ssh.bypass_timer import TimerPlan, bypass_timer
    from natsim.probes.ssh.login import parse_target

    host, port = parse_target(args.target)
    options = from_cli(SshBypassTimerOptions, args)
    plan = TimerPlan(step=options.step, resolution=options.resolution, max_wait=options.max_wait)
    return await bypass_timer(host, port, login=_make_login(args, options.client_impl), plan=plan,
                              time_scale=TimeScale(args.time_scale), name=args.name, node=args.node,
                              on_result=TallyWriter(args.progress, None).record)  # a search: no total


async def _kex(args: argparse.Namespace) -> ProbeResult:
    from natsim.probes.ssh.kex import kex_scan
    from natsim.probes.ssh.login import parse_target

    host, port = parse_target(args.target)
    tally = TallyWriter(args.progress, 1)
    result = await kex_scan(host, port, timeout=args.timeout, name=args.name, node=args.node)
    for row in result.connections:
        tally.record(row)
    return result


async def _idle(args: argparse.Namespace) -> ProbeResult:
    from natsim.probes.ssh.idle import ssh_idle
    from natsim.probes.ssh.login import parse_target

    host, port = parse_target(args.target)
    client = OpenSshClient(args.workdir) if args.workdir else OpenSshClient()
    variants = from_cli(SshIdleOptions, args).parsed()
    return await ssh_idle(host, port, user=args.user, variants=variants,
                          client=client, password=args.password, time_scale=TimeScale(args.time_scale),
                          reply_timeout=args.reply_timeout, name=args.name, node=args.node,
                          on_result=TallyWriter(args.progress, len(variants)).record)


def _run(args: argparse.Namespace, probe: Probe, closing: Closing, *, scratch: bool) -> int:
    """Run ``probe``; ``scratch``: without ``--workdir``, OpenSSH's throw-away keys and known_hosts
    go to a temporary directory, removed afterwards."""
    check_out(args)
    started = time.time()
    with tempfile.TemporaryDirectory(prefix="natsim-ssh-") as directory:
        if scratch and args.workdir is None:
            args.workdir = Path(directory)
        result = asyncio.run(probe(args))
    print(format_table(result, closing), file=sys.stderr if args.json else sys.stdout)
    hand_out(RunResult(source=args.source, time_scale=args.time_scale, started=started,
                       finished=time.time(), probes=[result], complete=result.complete,
                       unscaled=list(result.extra.get("unscaled", [])),
                       notes=list(result.extra.get("rounded", []))), args)
    return 0


# ---- output ---------------------------------------------------------------------------------------

def format_table(result: ProbeResult, closing: Closing | None = None) -> str:
    """A plain-text table of one SSH probe result; below it the intercepting proxy seen and the
    tool's own ``closing`` lines."""
    rows = [("#", "idle/offset", "verdict", "how", "at", "detail")]
    for c in result.connections:
        rows.append((str(c.index), format_duration(c.idle) if c.idle else "0",
                     c.verdict.value, c.how or "-",
                     format_duration(round(c.elapsed)) if c.elapsed else "0", c.detail))
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    lines = [f"{result.kind} {result.target}" + (f" (node {result.node})" if result.node else "")]
    for row in rows:
        lines.append("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:5])) + "  " + row[5])
    if result.extra.get("proxy"):
        lines.append(f"intercepting proxy: {result.extra['proxy']}")
    lines.extend(closing(result) if closing is not None else [])
    return "\n".join(lines)


def _no_more(result: ProbeResult) -> list[str]:
    return []


def _kex_lines(result: ProbeResult) -> list[str]:
    """The banner and the key exchanges offered."""
    if not result.extra.get("banner"):
        return []
    return [f"banner: {result.extra['banner']}", f"kex: {', '.join(result.extra.get('kex', []))}"]


def _bracket(result: ProbeResult) -> list[str]:
    """How long the bypass lasts."""
    if result.estimate is None:
        return []
    lo, hi = result.estimate.lower, result.estimate.upper
    if hi is None:
        return [f"bypass lasted longer than {format_duration(lo or 0)} (no expiry seen)"]
    return [f"bypass lasts between {lo:g} s and {hi:g} s "
            f"({format_duration(lo or 0)} .. {format_duration(hi)})"]


def _survivors(result: ProbeResult) -> list[str]:
    """The sessions that survived their idle time."""
    alive = [c.label for c in result.connections if c.verdict.value == "alive"]
    return [f"survived: {', '.join(alive) or 'none'}"]


#: The tools of the SSH kinds.
FIRST_CONNECT = _login_tool(_first_connect, _no_more)
BYPASS_TIMER = _login_tool(_bypass_timer, _bracket)
KEX = _kex_tool
IDLE = _idle_tool

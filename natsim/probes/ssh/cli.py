"""``natsim probe ssh-first-connect|ssh-bypass-timer|ssh-kex|ssh-idle``: the SSH probes on the command line.

Each prints a table and, with ``--json FILE``, writes a :class:`~natsim.report.schema.RunResult`
holding one probe. ``python -m natsim.probes.ssh.cli KIND ...`` is the same without the rest of the
``natsim`` command (what lab nodes run). Exit 0 when the probe ran, 2 on usage or set-up errors.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from natsim.cli import run_parsed
from natsim.cliargs import time_scale_type
from natsim.probes.options import add_cli_options, from_cli
from natsim.probes.results import add_result_options, check_out, hand_out
from natsim.probes.ssh.openssh import OpenSshClient
from natsim.probes.ssh.options import SshBypassTimerOptions, SshFirstConnectOptions, SshIdleOptions
from natsim.probes.tally import TallyWriter
from natsim.report.schema import ProbeResult, RunResult
from natsim.units import TimeScale, format_duration

if TYPE_CHECKING:
    from natsim.probes.ssh.login import SshLogin

# The probe modules (asyncssh among their imports) load when a probe runs, not when the parser is
# built: `natsim --help` stays fast.


def _common(parser: argparse.ArgumentParser, *, target: bool = True) -> None:
    if target:
        parser.add_argument("--target", required=True, metavar="HOST:PORT", help="the SSH server")
    parser.add_argument("--time-scale", type=time_scale_type, default=1.0,
                        help="real-world seconds per wall second (lab runs; default 1)")
    add_result_options(parser)


def _login(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--user", default="natsim")
    parser.add_argument("--password", default="natsim", help="password (OpenSSH: fed by SSH_ASKPASS)")
    parser.add_argument("--workdir", type=Path, default=None,
                        help="OpenSSH state (throw-away keys and known_hosts; default: a new temp dir)")
    parser.add_argument("--command", default="true", help="command run after login (default true)")


def register(sub: Any) -> None:
    """Add the SSH probe kinds to ``natsim probe``."""
    p = sub.add_parser("ssh-first-connect", help="log in N times; banner, kex and outcome per attempt",
                       description="Log in N times in a row (the 'first ssh always fails' check).")
    _common(p)
    _login(p)
    add_cli_options(p, SshFirstConnectOptions)
    p.set_defaults(func=lambda args: _run(args, _first_connect))

    p = sub.add_parser("ssh-bypass-timer", help="measure how long a firewall bypasses a failed tuple",
                       description="Growing waits by --step after an interception, then bisection "
                                   "down to --resolution; the bracket is in real-world seconds.")
    _common(p)
    _login(p)
    add_cli_options(p, SshBypassTimerOptions)
    p.set_defaults(func=lambda args: _run(args, _bypass_timer))

    p = sub.add_parser("ssh-kex", help="server banner and key-exchange list; names known proxies",
                       description="Read the SSH banner and KEXINIT without logging in.")
    _common(p)
    p.add_argument("--timeout", type=float, default=10.0, help="wall seconds (default 10)")
    p.set_defaults(func=lambda args: _run(args, _kex))

    p = sub.add_parser("ssh-idle", help="OpenSSH sessions left idle (ServerAliveInterval/TCPKeepAlive)",
                       description="Idle OpenSSH sessions; each --variant is IDLE[,Option=value...] "
                                   "or NAME=IDLE[,...], e.g. '2h,ServerAliveInterval=300'.")
    _common(p)
    p.add_argument("--user", default="root")
    p.add_argument("--password", default=None, help="password (default: the throw-away key in --workdir)")
    p.add_argument("--workdir", type=Path, default=None, help="holds id_ed25519 (the throw-away key)")
    add_cli_options(p, SshIdleOptions)
    p.add_argument("--reply-timeout", type=float, default=5.0,
                   help="wall seconds to wait for the echo after the idle time (default 5)")
    p.set_defaults(func=lambda args: _run(args, _idle))


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


def _run(args: argparse.Namespace,
         probe: Callable[[argparse.Namespace], Coroutine[Any, Any, ProbeResult]]) -> int:
    check_out(args)
    started = time.time()
    with tempfile.TemporaryDirectory(prefix="natsim-ssh-") as scratch:
        if getattr(args, "workdir", "-") is None:   # throw-away keys and known_hosts, removed after
            args.workdir = Path(scratch)
        result = asyncio.run(probe(args))
    print(format_table(result), file=sys.stderr if args.json else sys.stdout)
    hand_out(RunResult(source=args.source, time_scale=args.time_scale, started=started,
                       finished=time.time(), probes=[result], complete=result.complete,
                       unscaled=list(result.extra.get("unscaled", [])),
                       notes=list(result.extra.get("rounded", []))), args)
    return 0


# ---- output ---------------------------------------------------------------------------------------

def format_table(result: ProbeResult) -> str:
    """A plain-text table of one SSH probe result, with its summary line."""
    rows = [("#", "idle/offset", "verdict", "how", "at", "detail")]
    for c in result.connections:
        rows.append((str(c.index), format_duration(c.idle) if c.idle else "0",
                     c.verdict.value, c.how or "-",
                     format_duration(round(c.elapsed)) if c.elapsed else "0", c.detail))
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    lines = [f"{result.kind} {result.target}" + (f" (node {result.node})" if result.node else "")]
    for row in rows:
        lines.append("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:5])) + "  " + row[5])
    lines.extend(summary(result))
    return "\n".join(lines)


def summary(result: ProbeResult) -> list[str]:
    """Closing lines: the proxy seen, the bypass bracket, the kex list, survivors."""
    extra = result.extra
    out = []
    if extra.get("proxy"):
        out.append(f"intercepting proxy: {extra['proxy']}")
    if result.kind == "ssh-kex" and extra.get("banner"):
        out.append(f"banner: {extra['banner']}")
        out.append(f"kex: {', '.join(extra.get('kex', []))}")
    if result.kind == "ssh-bypass-timer" and result.estimate is not None:
        lo, hi = result.estimate.lower, result.estimate.upper
        if hi is None:
            out.append(f"bypass lasted longer than {format_duration(lo or 0)} (no expiry seen)")
        else:
            out.append(f"bypass lasts between {lo:g} s and {hi:g} s "
                       f"({format_duration(lo or 0)} .. {format_duration(hi)})")
    if result.kind == "ssh-idle":
        alive = [c.label for c in result.connections if c.verdict.value == "alive"]
        out.append(f"survived: {', '.join(alive) or 'none'}")
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m natsim.probes.ssh.cli KIND ...``."""
    parser = argparse.ArgumentParser(prog="python -m natsim.probes.ssh.cli",
                                     description="natsim's SSH probes")
    register(parser.add_subparsers(dest="kind", metavar="KIND", required=True))
    return run_parsed(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())

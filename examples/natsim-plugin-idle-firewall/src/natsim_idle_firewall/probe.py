"""``tcp-open``: a probe kind of this plugin, which ports a firewall lets a connection through to.

One connection attempt per port: ``ok`` when it opens, ``reset`` when the host (or a firewall) refuses
it, ``dead`` when the SYN goes unanswered (silently dropped). natsim finds the kind through the
``natsim.probes`` entry point and builds ``natsim probe tcp-open`` from it: its flags are the
options' (``--ports``, ``--timeout``) plus what :func:`build` adds (``--target``).
"""

from __future__ import annotations

import argparse
import errno
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from natsim.fields import duration_field, plain_field
from natsim.probes.options import ProbeOptions, from_cli, to_argv
from natsim.probes.registry import ProbeKind, options_of
from natsim.probes.results import hand_out
from natsim.probes.tools import TOOL_COMMAND
from natsim.report.schema import ConnectionResult, ProbeResult, RunResult, Verdict


@dataclass(frozen=True)
class TcpOpenOptions(ProbeOptions):
    """Which ports to try, and for how long (real-world seconds)."""

    kind: ClassVar[str] = "tcp-open"

    ports: tuple[int, ...] = plain_field((22,), "TCP ports to open a connection to", "ports")
    timeout: float = duration_field(3.0, "how long one connection attempt may take")


def attempt(host: str, port: int, timeout: float) -> tuple[Verdict, str]:
    """One connection attempt: its verdict and what the OS said."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return Verdict.OK, "connected"
    except TimeoutError:
        return Verdict.DEAD, "no answer (dropped)"
    except OSError as err:
        if err.errno == errno.ECONNREFUSED:
            return Verdict.RESET, "refused (RST)"
        return Verdict.ERROR, str(err)


def run(args: argparse.Namespace) -> int:
    """``natsim probe tcp-open``: try every port, print one line each, hand over the result."""
    options = from_cli(TcpOpenOptions, args)
    started = time.time()
    rows = []
    for index, port in enumerate(options.ports):
        verdict, detail = attempt(args.target, port, options.timeout / args.time_scale)
        rows.append(ConnectionResult(index, 0.0, verdict, "connect", 0.0, f"port {port}: {detail}"))
        print(f"port {port}: {verdict.value} ({detail})", file=sys.stderr if args.json else sys.stdout)
    probe = ProbeResult(name=args.name or TcpOpenOptions.kind, kind=TcpOpenOptions.kind, target=args.target,
                        node=args.node, connections=rows)
    hand_out(RunResult(source=args.source, time_scale=args.time_scale, started=started,
                       finished=time.time(), probes=[probe]), args)
    return 0


def build(parser: argparse.ArgumentParser, kind: ProbeKind) -> Callable[[argparse.Namespace], int]:
    """The tool's own flag, beside the options' and natsim's common ones."""
    parser.add_argument("--target", required=True, metavar="HOST", help="the host to connect to")
    return run


@dataclass
class LabRun:
    """The tool running in a lab node; its result is read back from ``--out``."""

    process: Any
    out: Path

    def wait(self, timeout: float | None = None) -> ProbeResult:
        """The result once the tool has exited."""
        self.process.popen.wait(timeout=timeout)
        return RunResult.load(self.out).probes[0]

    def stop(self) -> None:
        """Stop it."""
        self.process.stop()


def driver(ctx: Any, spec: Any) -> LabRun:
    """In a lab: the tool in the probe's client node, towards its server node."""
    out = ctx.out / f"{spec.name}.json"
    argv = [*TOOL_COMMAND, TcpOpenOptions.kind, "--target", ctx.lab.address(spec.server),
            *to_argv(options_of(spec)), "--time-scale", f"{ctx.scenario.time_scale.factor:g}",
            "--out", str(out), "--source", "lab", "--name", spec.name]
    return LabRun(ctx.lab.popen(spec.client, argv, stdout=subprocess.DEVNULL), out)

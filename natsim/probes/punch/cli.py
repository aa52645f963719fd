"""``natsim probe hole-punch --rendezvous HOST[:PORT] --session NAME``: one peer of a UDP hole punch as a
tool (run it on both peers with the same session; ``natsim serve --rendezvous`` is the rendezvous).

Exit 0 when the run completed, whatever it found (a rendezvous that never answers is the verdict
``dead``, how ``rendezvous``); 2 on usage errors or a host that does not resolve.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import sys
import time
from collections.abc import Callable

from natsim.errors import ProbeError
from natsim.probes.options import from_cli
from natsim.probes.output import stdout_output
from natsim.probes.punch.messages import Address, session_id, show
from natsim.probes.punch.options import HolePunchOptions
from natsim.probes.punch.peer import PeerRun, run_peer
from natsim.probes.punch.punch_result import findings, side
from natsim.probes.punch.puncher import Puncher
from natsim.probes.registry import ProbeKind
from natsim.probes.results import check_out, hand_out
from natsim.report.schema import ProbeResult, RunResult, Verdict

#: Wall seconds a peer waits for the rendezvous to name its peer, unless --setup-timeout says otherwise.
SETUP_TIMEOUT = 10.0


def build(parser: argparse.ArgumentParser, kind: ProbeKind) -> Callable[[argparse.Namespace], int]:
    """Add the tool's own flags; return what runs it."""
    port = kind.service.port if kind.service is not None else 0
    parser.add_argument("--rendezvous", required=True, metavar="HOST[:PORT]",
                        help=f"the rendezvous (`natsim serve --rendezvous`; default port {port}, or --port)")
    parser.add_argument("--session", required=True, metavar="NAME",
                        help="the session both peers give (the rendezvous pairs them by it)")
    parser.add_argument("--setup-timeout", type=float, default=SETUP_TIMEOUT, metavar="SECONDS",
                        help=f"wall seconds to wait for the rendezvous to name the peer (default "
                        f"{SETUP_TIMEOUT:g})")
    parser.add_argument("--local-port", type=int, default=0, metavar="PORT",
                        help="the local UDP port to punch from (default: any)")
    parser.add_argument("--quiet", action="store_true", help="no per-step lines")
    return lambda args: run_cli(kind, args)


def resolve(text: str, default_port: int) -> Address:
    """``HOST[:PORT]`` → (IPv4 address, port); :class:`ProbeError` when it does not resolve."""
    host, sep, port_text = text.rpartition(":")
    if not sep:
        host, port_text = text, str(default_port)
    if not port_text.isdigit() or not host or not 1 <= int(port_text) <= 65535:
        raise ProbeError(f"--rendezvous {text!r}: expected HOST or HOST:PORT with a port in 1..65535")
    try:
        found = socket.getaddrinfo(host, int(port_text), socket.AF_INET, socket.SOCK_DGRAM)
    except (socket.gaierror, UnicodeError) as err:
        raise ProbeError(f"--rendezvous {host}: cannot resolve it to an IPv4 address: {err}") from err
    return (str(found[0][4][0]), int(port_text))


def run_cli(kind: ProbeKind, args: argparse.Namespace) -> int:
    """Register, punch, print what happened, hand out the result."""
    check_out(args)
    options = from_cli(kind.options, args)
    assert isinstance(options, HolePunchOptions) and kind.service is not None
    if not args.setup_timeout > 0:
        raise ProbeError(f"--setup-timeout must be positive, got {args.setup_timeout}")
    if not 0 <= args.local_port <= 65535:
        raise ProbeError(f"--local-port must be 0..65535, got {args.local_port}")
    rendezvous = resolve(args.rendezvous, options.port or kind.service.port)
    scale = args.time_scale
    run = PeerRun(rendezvous, session_id(args.session), options.duration / scale, options.interval / scale,
                  args.setup_timeout, ("0.0.0.0", args.local_port))
    puncher = Puncher(run.session, rendezvous)
    output = stdout_output(kind.tool.name if kind.tool else kind.name)
    output.out = None if args.quiet else sys.stderr if args.json else sys.stdout
    started = time.time()
    heard, waited = asyncio.run(run_peer(run, puncher))
    label = args.node or "peer"
    conn = side(puncher, index=0, label=label, elapsed=None if heard is None else heard * scale,
                waited=waited * scale)
    output.line(f"[{'+' if conn.verdict is Verdict.ALIVE else '-'}] public {show(puncher.observed)}, peer "
                f"{show(puncher.peer)}: {conn.verdict.value}: {conn.detail}")
    probe = ProbeResult(name=args.name or kind.name, kind=kind.name, target=show(rendezvous), node=args.node,
                        connections=[conn], extra=findings(puncher))
    hand_out(RunResult(source=args.source, time_scale=scale, started=started, finished=time.time(),
                       probes=[probe], notes=[f"{probe.name}: {conn.verdict.value}: {conn.detail}"]), args)
    return 0

"""The TCP ladder on the shared idle ladder (:mod:`natsim.probes.idle_ladder`): every connection is its
own task: connect (at most :data:`~natsim.probes.tcp.options.CONNECT_CONCURRENCY` at once, each given up
after the run's connect timeout), then its test against its own absolute deadline from its own connect.
A connection that cannot be set up gets its own verdict (``how="connect"``: dead when nothing answered
within the connect timeout or the OS reported ETIMEDOUT, reset on ECONNREFUSED / ECONNRESET) and never
stops the others; a reset never aborts the run. Prints the original-style lines and returns a
:class:`~natsim.report.schema.ProbeResult`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from natsim.errors import ProbeError
from natsim.probes import idle_ladder
from natsim.probes.idle_ladder import Liner, default_line, run_rungs
from natsim.probes.output import ProbeOutput
from natsim.probes.tcp.options import CONNECT_CONCURRENCY, TcpProbeOptions
from natsim.probes.tcp.sock import (
    ConnectTimeout,
    ProbeConnection,
    SocketOptions,
    classify_error,
    describe_error,
    open_connection,
    resolve,
)
from natsim.report.schema import ConnectionResult, ProbeResult, Verdict, estimate_timeout
from natsim.units import format_duration

__all__ = ["LadderRun", "default_line", "run_ladder"]


class LadderRun(idle_ladder.LadderRun[TcpProbeOptions]):
    """A running TCP ladder: the shared ladder run, and what an OS error on a connection means."""

    def failure(self, conn: ProbeConnection, err: OSError, how: str) -> ConnectionResult:
        """The verdict for an OS error met while doing ``how``."""
        return self.result(conn, classify_error(err), how, describe_error(err))


Tester = Callable[[LadderRun, ProbeConnection], Awaitable[ConnectionResult]]


async def run_ladder(kind: str, options: TcpProbeOptions, output: ProbeOutput, *,
                     socket_options: Callable[[int], SocketOptions | None], test: Tester,
                     line: Liner = default_line,
                     after_connect: Callable[[ProbeConnection], Awaitable[None]] | None = None,
                     idles: list[float] | None = None,
                     extra: dict[str, object] | None = None) -> ProbeResult:
    """Connect and test every connection of the ladder, each on its own; return the probe result.

    ``idles`` overrides the options' idle times (real-world) when the kernel rounds them;
    ``after_connect`` runs right after a connect completes (e.g. to send a request).
    """
    if options.port is None:
        raise ProbeError(f"{kind}: no port to connect to (the tool takes its kind's service port)")
    port = options.port
    run = LadderRun(kind, options, output)
    run.started = run.now()
    output.total = options.connections
    output.next_due = run.next_due
    output.line(f"[+] Trying to establish {options.connections} connections to {options.server}:{port} "
                f"(idle {format_duration(options.idle(0))} .. "
                f"{format_duration(options.idle(options.connections - 1))})")
    family, address = await resolve(options.server, port)
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)
    ladder = idles or options.idles()

    async def setup(index: int) -> ProbeConnection | ConnectionResult:
        try:
            conn = await open_connection(index, family, address, ladder[index], options=socket_options(index),
                                         timeout=options.connect_timeout_wall, gate=gate)
        except ConnectTimeout as err:
            return run.unconnected(index, ladder[index], Verdict.DEAD, "connect", str(err))
        except OSError as err:
            return run.unconnected(index, ladder[index], classify_error(err), "connect", describe_error(err))
        if after_connect is not None:
            try:
                await after_connect(conn)
            except OSError as err:
                conn.close()
                return run.failure(conn, err, "connect")
        return conn

    async def tested(run: idle_ladder.LadderRun[TcpProbeOptions], conn: ProbeConnection) -> ConnectionResult:
        assert isinstance(run, LadderRun)
        return await test(run, conn)

    def failed(run: idle_ladder.LadderRun[TcpProbeOptions], conn: ProbeConnection,
               err: OSError) -> ConnectionResult:
        return run.result(conn, classify_error(err), "", describe_error(err))

    results = await run_rungs(run, options.connections, setup, tested, failed, line)
    estimate = estimate_timeout(results)
    output.line(f"[+] Estimate: {estimate.describe()}")
    return ProbeResult(name=options.name or kind, kind=kind, target=f"{options.server}:{port}",
                       node=options.node, connections=results, estimate=estimate,
                       extra={"step": options.step, "first": options.idle(0),
                              "time_scale": options.time_scale, "user_timeout": options.user_timeout,
                              "grace_wall": options.grace_wall, **(extra or {})})

"""The TCP ladder: opens every connection and runs one test per connection concurrently on the shared
idle ladder (:mod:`natsim.probes.idle_ladder`: absolute deadlines, per-connection failures as verdicts,
a reset never aborts the run), prints the original-style lines and returns a
:class:`~natsim.report.schema.ProbeResult`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from natsim.errors import ProbeError
from natsim.probes import idle_ladder
from natsim.probes.idle_ladder import Liner, default_line, test_rungs
from natsim.probes.output import ProbeOutput
from natsim.probes.tcp.options import TcpProbeOptions
from natsim.probes.tcp.sock import (
    ProbeConnection,
    SocketOptions,
    classify_error,
    connect_ladder,
    describe_error,
)
from natsim.report.schema import ConnectionResult, ProbeResult, estimate_timeout
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
    """Connect the whole ladder, test every connection, return the probe result.

    ``idles`` overrides the options' idle times (real-world) when the kernel rounds them.
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
    conns = await connect_ladder(options.server, port, idles or options.idles(), options=socket_options,
                                 after_connect=after_connect, timeout=options.connect_timeout_wall)
    output.line("[+] All connections established")

    async def tested(run: idle_ladder.LadderRun[TcpProbeOptions], conn: ProbeConnection) -> ConnectionResult:
        assert isinstance(run, LadderRun)
        return await test(run, conn)

    def failed(run: idle_ladder.LadderRun[TcpProbeOptions], conn: ProbeConnection,
               err: OSError) -> ConnectionResult:
        return run.result(conn, classify_error(err), "", describe_error(err))

    results = await test_rungs(run, conns, tested, failed, line)
    estimate = estimate_timeout(results)
    output.line(f"[+] Estimate: {estimate.describe()}")
    return ProbeResult(name=options.name or kind, kind=kind, target=f"{options.server}:{port}",
                       node=options.node, connections=results, estimate=estimate,
                       extra={"step": options.step, "first": options.idle(0),
                              "time_scale": options.time_scale, "user_timeout": options.user_timeout,
                              "grace_wall": options.grace_wall, **(extra or {})})

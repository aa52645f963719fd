"""The ladder engine shared by tcp-send, tcp-recv and tcp-keepalive.

Every connection is its own task: connect (at most :data:`~natsim.probes.tcp.options.CONNECT_CONCURRENCY`
at once, each given up after the run's connect timeout), then its test against its own absolute deadline
from its own connect. A connection that cannot be set up gets its own verdict (``how="connect"``: dead
when nothing answered within the connect timeout or the OS reported ETIMEDOUT, reset on ECONNREFUSED /
ECONNRESET) and never stops the others. Prints the original-style lines and returns a
:class:`~natsim.report.schema.ProbeResult`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from natsim.errors import ProbeError
from natsim.probes.output import ProbeOutput
from natsim.probes.tcp.options import CONNECT_CONCURRENCY, TcpProbeOptions, deadline
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


@dataclass
class LadderRun:
    """A running ladder: options, output, clock."""

    kind: str
    options: TcpProbeOptions
    output: ProbeOutput
    started: float = 0.0                       # event-loop time of the start
    due: dict[int, float] = field(default_factory=dict)  # index → deadline, while untested

    def now(self) -> float:
        """Event-loop (monotonic) time."""
        return asyncio.get_running_loop().time()

    def elapsed(self) -> float:
        """Real-world seconds since the start."""
        return (self.now() - self.started) * self.options.time_scale

    def deadline(self, conn: ProbeConnection) -> float:
        """When ``conn`` has been idle for its idle time (event-loop time)."""
        return deadline(conn.connected_at, conn.idle, self.options.time_scale)

    def result(self, conn: ProbeConnection, verdict: Verdict, how: str = "",
               detail: str = "") -> ConnectionResult:
        """A connection result stamped with the elapsed real-world time."""
        return self.unconnected(conn.index, conn.idle, verdict, how, detail, local=conn.local)

    def unconnected(self, index: int, idle: float, verdict: Verdict, how: str, detail: str, *,
                    local: str = "") -> ConnectionResult:
        """The result of connection ``index`` (also one that never connected)."""
        return ConnectionResult(index=index, idle=idle, verdict=verdict, how=how,
                                elapsed=round(self.elapsed(), 3), detail=detail, local=local)

    def failure(self, conn: ProbeConnection, err: OSError, how: str) -> ConnectionResult:
        """The verdict for an OS error met while doing ``how``."""
        return self.result(conn, classify_error(err), how, describe_error(err))

    def next_due(self) -> tuple[int, float] | None:
        """(index, wall seconds) of the next connection to be tested, for the progress line."""
        if not self.due:
            return None
        index = min(self.due, key=lambda i: self.due[i])
        return index, self.due[index] - self.now()


Tester = Callable[[LadderRun, ProbeConnection], Awaitable[ConnectionResult]]
Liner = Callable[[ConnectionResult], str]


def default_line(result: ConnectionResult) -> str:
    """``[-] Connection 59 was reset (read)`` and the like, for verdicts without a kind-specific line."""
    how = f" ({result.how})" if result.how else ""
    text = {Verdict.ALIVE: "worked", Verdict.DEAD: "is dead", Verdict.RESET: "was reset",
            Verdict.EOF: "was closed by the peer", Verdict.ERROR: "failed"}.get(result.verdict, "?")
    sign = "+" if result.verdict is Verdict.ALIVE else "-"
    # dead lines stay exactly the original's (scripts grep them); the detail is in the JSON result
    quiet = result.verdict in (Verdict.ALIVE, Verdict.DEAD)
    extra = f": {result.detail}" if result.detail and not quiet else ""
    return f"[{sign}] Connection {result.index} {text}{how}{extra}"


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

    async def one(index: int) -> ConnectionResult:
        try:
            conn = await open_connection(index, family, address, ladder[index], options=socket_options(index),
                                         timeout=options.connect_timeout_wall, gate=gate)
        except ConnectTimeout as err:
            result = run.unconnected(index, ladder[index], Verdict.DEAD, "connect", str(err))
        except OSError as err:
            result = run.unconnected(index, ladder[index], classify_error(err), "connect",
                                     describe_error(err))
        else:
            result = await tested(run, conn, test, after_connect)
        output.record(result)
        output.line(line(result))
        return result

    display = asyncio.ensure_future(output.run_display())
    try:
        results = list(await asyncio.gather(*(one(i) for i in range(options.connections))))
    finally:
        display.cancel()
        await asyncio.gather(display, return_exceptions=True)
    estimate = estimate_timeout(results)
    output.line(f"[+] Estimate: {estimate.describe()}")
    return ProbeResult(name=options.name or kind, kind=kind, target=f"{options.server}:{port}",
                       node=options.node, connections=results, estimate=estimate,
                       extra={"step": options.step, "first": options.idle(0),
                              "time_scale": options.time_scale, "user_timeout": options.user_timeout,
                              "grace_wall": options.grace_wall, **(extra or {})})


async def tested(run: LadderRun, conn: ProbeConnection, test: Tester,
                 after_connect: Callable[[ProbeConnection], Awaitable[None]] | None) -> ConnectionResult:
    """Run ``after_connect`` and the test of an established connection; close it whatever happens."""
    run.due[conn.index] = run.deadline(conn)
    try:
        if after_connect is not None:
            try:
                await after_connect(conn)
            except OSError as err:
                return run.failure(conn, err, "connect")
        return await test(run, conn)
    except OSError as err:
        return run.failure(conn, err, "")
    except Exception as err:  # a bug or an odd reply must not stop the other connections
        return run.result(conn, Verdict.ERROR, "", f"{type(err).__name__}: {err}")
    finally:
        conn.sock.close()
        run.due.pop(conn.index, None)

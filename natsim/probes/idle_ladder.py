"""The idle ladder every idle-timeout probe family runs (TCP and UDP): its options, declared once, and the
engine that tests every rung against its own absolute deadline.

Rung ``i`` is tested after being idle ``first + i*step`` real-world seconds, measured from its own
set-up (a TCP connect, a UDP flow's first exchange): an absolute deadline, no drift, all rungs waiting
concurrently. The lab waits ``idle / time_scale`` wall seconds.
"""

from __future__ import annotations

import asyncio
import math
import socket
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from natsim.errors import ProbeError
from natsim.fields import duration_field, plain_field
from natsim.probes.options import ProbeOptions
from natsim.probes.output import ProbeOutput
from natsim.report.schema import ConnectionResult, ProbeResult, Verdict, estimate_timeout
from natsim.units import TimeScale

#: Most connections (rungs) one probe run may open.
MAX_CONNECTIONS = 5000
#: Wall seconds a probe waits past a deadline before calling silence dead.
GRACE_WALL = 10.0


@dataclass(frozen=True)
class LadderOptions(ProbeOptions):
    """The ladder's options: how many rungs and their idle times (every ladder kind's options derive
    from this class, so each of these is declared here only)."""

    connections: int = plain_field(130, "connections, one per idle time", "int", minimum=1,
                                   maximum=MAX_CONNECTIONS)
    first: float | None = duration_field(None, "idle time of connection 0 (default: the step)",
                                         optional=True)
    step: float = duration_field(60.0, "idle time added per connection")

    def idle(self, index: int) -> float:
        """Real-world idle time before connection ``index`` is tested."""
        first = self.step if self.first is None else self.first
        return first + index * self.step

    def idles(self) -> list[float]:
        """Idle time of every connection."""
        return [self.idle(i) for i in range(self.connections)]


def check_ladder(options: LadderOptions, time_scale: float) -> None:
    """:class:`ProbeError` naming the flag when a tool's ladder cannot run (the scenario loader has
    already refused these; a tool built in code or from flags is checked here)."""
    if not 1 <= options.connections <= MAX_CONNECTIONS:
        raise ProbeError(f"--connections must be 1..{MAX_CONNECTIONS}, got {options.connections}")
    if options.step < 0 or not math.isfinite(options.step):
        raise ProbeError(f"--step must be a duration >= 0, got {options.step}")
    if options.first is not None and (options.first <= 0 or not math.isfinite(options.first)):
        raise ProbeError(f"--first must be a positive duration, got {options.first}")
    if options.idle(0) <= 0:
        raise ProbeError("--step 0 needs a positive --first")
    TimeScale(time_scale)  # validates


def deadline(started_at: float, idle: float, time_scale: float) -> float:
    """Absolute (monotonic) time at which a rung set up at ``started_at`` has been idle ``idle``
    real-world seconds. Idle exactly equal to a timeout is past it, as in the kernel."""
    return started_at + idle / time_scale


async def sleep_until(when: float) -> None:
    """Sleep until monotonic event-loop time ``when`` (never wakes early)."""
    loop = asyncio.get_running_loop()
    while (left := when - loop.time()) > 0:
        await asyncio.sleep(left)


def local_address(sock: socket.socket) -> str:
    """``address:port`` the socket is bound to (``""`` when it is not)."""
    try:
        address = sock.getsockname()
    except OSError:
        return ""
    return f"{address[0]}:{address[1]}" if isinstance(address, tuple) else ""


class Rung(Protocol):
    """One rung of a running ladder: its index, idle time (real-world), set-up time (event loop) and its
    own ``address:port`` (names it in a capture; ``""`` where unknown)."""

    index: int
    idle: float
    connected_at: float
    local: str

    def close(self) -> None:
        """Release its socket."""
        ...


class Clocked(Protocol):
    """What the engine reads of a tool run's options."""

    @property
    def time_scale(self) -> float:
        """Real-world seconds per wall second."""
        ...


RungT = TypeVar("RungT", bound=Rung)
OptionsT = TypeVar("OptionsT", bound=Clocked)


@dataclass
class LadderRun(Generic[OptionsT]):
    """A running ladder: its options, output and clock."""

    kind: str
    options: OptionsT
    output: ProbeOutput
    started: float = 0.0                       # event-loop time of the start
    due: dict[int, float] = field(default_factory=dict)  # index → deadline, while untested

    def now(self) -> float:
        """Event-loop (monotonic) time."""
        return asyncio.get_running_loop().time()

    def elapsed(self) -> float:
        """Real-world seconds since the start."""
        return (self.now() - self.started) * self.options.time_scale

    def deadline(self, rung: Rung) -> float:
        """When ``rung`` has been idle for its idle time (event-loop time)."""
        return deadline(rung.connected_at, rung.idle, self.options.time_scale)

    def result(self, rung: Rung, verdict: Verdict, how: str = "", detail: str = "") -> ConnectionResult:
        """A connection result stamped with the elapsed real-world time."""
        return self.unconnected(rung.index, rung.idle, verdict, how, detail, local=rung.local)

    def unconnected(self, index: int, idle: float, verdict: Verdict, how: str, detail: str, *,
                    local: str = "") -> ConnectionResult:
        """The result of rung ``index``, also of one that could not be set up."""
        return ConnectionResult(index=index, idle=idle, verdict=verdict, how=how,
                                elapsed=round(self.elapsed(), 3), detail=detail, local=local)

    def next_due(self) -> tuple[int, float] | None:
        """(index, wall seconds) of the next rung to be tested, for the progress line."""
        if not self.due:
            return None
        index = min(self.due, key=lambda i: self.due[i])
        return index, self.due[index] - self.now()


Liner = Callable[[ConnectionResult], str]
#: A verdict word per verdict for :func:`default_line` (``[-] Connection 59 was reset``).
LINE_WORDS = {Verdict.ALIVE: "worked", Verdict.DEAD: "is dead", Verdict.RESET: "was reset",
              Verdict.EOF: "was closed by the peer", Verdict.REFUSED: "was refused",
              Verdict.ERROR: "failed"}


def default_line(result: ConnectionResult) -> str:
    """``[-] Connection 59 was reset (read)`` and the like, for verdicts without a kind-specific line."""
    how = f" ({result.how})" if result.how else ""
    text = LINE_WORDS.get(result.verdict, "?")
    sign = "+" if result.verdict is Verdict.ALIVE else "-"
    # dead lines stay exactly the original's (scripts grep them); the detail is in the JSON result
    quiet = result.verdict in (Verdict.ALIVE, Verdict.DEAD)
    extra = f": {result.detail}" if result.detail and not quiet else ""
    return f"[{sign}] Connection {result.index} {text}{how}{extra}"


async def test_rungs(run: LadderRun[Any], rungs: Sequence[RungT],
                     test: Callable[[LadderRun[Any], RungT], Awaitable[ConnectionResult]],
                     failure: Callable[[LadderRun[Any], RungT, OSError], ConnectionResult],
                     line: Liner = default_line) -> list[ConnectionResult]:
    """Test every rung (all set up already) concurrently, each against its own deadline
    (:func:`run_rungs`)."""
    async def given(index: int) -> RungT:
        return rungs[index]

    return await run_rungs(run, len(rungs), given, test, failure, line)


async def run_rungs(run: LadderRun[Any], count: int,
                    setup: Callable[[int], Awaitable[RungT | ConnectionResult]],
                    test: Callable[[LadderRun[Any], RungT], Awaitable[ConnectionResult]],
                    failure: Callable[[LadderRun[Any], RungT, OSError], ConnectionResult],
                    line: Liner = default_line) -> list[ConnectionResult]:
    """Set up and test ``count`` rungs concurrently, each on its own: ``setup(i)`` gives rung ``i``, or
    the verdict of one that could not be set up; each is tested against its own deadline. A set-up
    failure, an OS error or a bug in one rung becomes its verdict and never stops the others. Every
    rung is closed when it is done."""
    made: list[RungT] = []

    async def guarded(rung: RungT) -> ConnectionResult:
        run.due[rung.index] = run.deadline(rung)
        try:
            return await test(run, rung)
        except OSError as err:
            return failure(run, rung, err)
        except Exception as err:  # a bug or an odd reply must not stop the other connections
            return run.result(rung, Verdict.ERROR, "", f"{type(err).__name__}: {err}")
        finally:
            rung.close()
            run.due.pop(rung.index, None)

    async def one(index: int) -> ConnectionResult:
        rung = await setup(index)
        if isinstance(rung, ConnectionResult):
            result = rung
        else:
            made.append(rung)
            result = await guarded(rung)
        run.output.record(result)
        run.output.line(line(result))
        return result

    display = asyncio.ensure_future(run.output.run_display())
    try:
        return list(await asyncio.gather(*(one(i) for i in range(count))))
    finally:
        display.cancel()
        await asyncio.gather(display, return_exceptions=True)
        for rung in made:
            rung.close()


def partial_result(kind: str, options: LadderOptions, done: list[ConnectionResult], *, name: str | None,
                   target: str, node: str | None) -> ProbeResult:
    """The result of an interrupted ladder run: the verdicts so far, the rest ``skipped``,
    ``complete=False`` (one for every ladder tool, TCP and UDP)."""
    tested = {c.index for c in done}
    connections = sorted(done, key=lambda c: c.index) + [
        ConnectionResult(index=i, idle=options.idle(i), verdict=Verdict.SKIPPED, detail="run interrupted")
        for i in range(options.connections) if i not in tested]
    connections.sort(key=lambda c: c.index)
    return ProbeResult(name=name or kind, kind=kind, target=target, node=node, connections=connections,
                       estimate=estimate_timeout(done), complete=False)

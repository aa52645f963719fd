"""The TCP probes (tcp-send, tcp-recv, tcp-keepalive) with their exact schedules.

``flavour: natsim`` — what ``natsim probe`` does: every connection sets up on its own at the probe's
start (at most :data:`~natsim.probes.tcp.options.CONNECT_CONCURRENCY` at once, each given up after
:data:`~natsim.probes.tcp.options.CONNECT_TIMEOUT_WALL` wall seconds: dead, how ``connect``; an RST
answering the SYN: reset) and is tested when idle ``first + i*step`` measured from its own connect
(absolute deadlines, no drift); one connection that cannot be set up never holds up the others.
``flavour: original`` — the NAT-TCP-test tools: connect all, then ``sleep(step)`` and test one
connection at a time with blocking calls, so a dead connection delays every later test by its
timeout (drift); tcp-recv reads the connections in order with a blocking ``read()``, so a reply that
never comes stops the run (later connections are reported ``skipped``).
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any, Protocol

import simpy

from natsim.probes.registry import kind as probe_kind
from natsim.probes.registry import options_of
from natsim.probes.tcp.options import (
    CONNECT_CONCURRENCY,
    CONNECT_TIMEOUT_WALL,
    GRACE_WALL,
    TcpKeepaliveOptions,
    TcpSendOptions,
    sleep_seconds,
)
from natsim.probes.tcp.protocol import BadRequest, echo_reply, parse_sleep_request, sleep_request
from natsim.report.schema import ConnectionResult, ProbeResult, Verdict, errno_verdict, estimate_timeout
from natsim.sim import explain
from natsim.sim.tcp_endpoint import Socket, TcpError
from natsim.sim.timers import TcpSettings, wheel_late
from natsim.sim.world import World
from natsim.units import format_duration

Gen = Generator[simpy.Event, Any, None]


class ProbeSpecLike(Protocol):
    """What a probe model reads from a scenario's probe (see ``natsim.run.predict.ProbeSpecLike``)."""

    name: str
    kind: str
    client: str
    server: str
    start: float
    options: Any


def verdict_of(err: TcpError) -> Verdict:
    """The verdict of a socket error, as the lab's tools decide it (its errno)."""
    return errno_verdict(err.errno)


def _wire(data: str) -> bytes:
    """The bytes a model segment's text stands for (the model carries text, the wire bytes)."""
    return data.encode("latin-1")


def echo_app(sock: Socket) -> Gen:
    """The echo service (:func:`~natsim.probes.tcp.protocol.echo_reply`): read once, echo, close."""
    data = yield sock.read()
    if data:
        sock.send(echo_reply(_wire(data)).decode("latin-1"))
    sock.close()


def sleep_app(sock: Socket) -> Gen:
    """The sleep service: the server's own parser reads the request; a refused one is closed unanswered,
    an accepted one is answered with the same bytes after the seconds it asked for."""
    line = yield sock.read()
    try:
        seconds = parse_sleep_request(_wire(line))
    except BadRequest:
        sock.close()
        return
    yield sock.env.timeout(seconds)
    sock.send(line)
    sock.close()


class TcpProbe:
    """Shared machinery: options, per-connection results, explanations."""

    def __init__(self, world: World, spec: ProbeSpecLike) -> None:
        self.world = world
        self.env = world.env
        self.spec = spec
        opts = options_of(spec)
        assert isinstance(opts, TcpSendOptions)
        self.options = opts
        self.n = opts.connections
        self.step = opts.step
        self.first = opts.first if opts.first is not None else opts.step
        self.flavour = opts.flavour
        service = probe_kind(spec.kind).service
        assert service is not None
        self.port = opts.port if opts.port is not None else service.port
        self.user_timeout = opts.user_timeout or None   # 0: the kernel's tcp_retries2
        self.settings = TcpSettings.for_lab(world.timing, user_timeout=self.user_timeout,
                                            retries2_give_up=world.endpoint(spec.client).give_up)
        #: how long natsim's probe waits past a deadline before calling silence dead (lab seconds)
        self.grace = world.timing.unscaled(GRACE_WALL)
        #: the tool's connect timeout and its gate of concurrent connects (natsim flavour)
        self.connect_timeout = world.timing.unscaled(CONNECT_TIMEOUT_WALL)
        self.gate = simpy.Resource(self.env, CONNECT_CONCURRENCY)
        self.results: dict[int, ConnectionResult] = {}
        self.connected: dict[int, float] = {}
        self.complete = True
        self.route = world.route(spec.client, spec.server)
        world.listen(spec.server, self.port, type(self).server_app,
                     TcpSettings.for_lab(world.timing, retries2_give_up=world.endpoint(spec.server).give_up))

    @staticmethod
    def server_app(sock: Socket) -> Gen:
        """The service the probe talks to (echo by default)."""
        yield from echo_app(sock)

    def idle(self, i: int) -> float:
        """The scheduled idle time of connection ``i``."""
        return self.first + i * self.step

    def conn(self, i: int) -> str:
        """Trace label of connection ``i``."""
        return f"{self.spec.name}#{i}"

    def open(self, i: int) -> Socket:
        """A client socket for connection ``i`` (with ``so_keepalive``: the client host's keepalive
        timers, in whole lab seconds as its sysctls hold them)."""
        sock = self.world.socket(self.spec.client, self.spec.server, self.port, self.conn(i), self.settings)
        if self.options.so_keepalive:
            idle, interval, count = self.world.endpoint(self.spec.client).keepalive
            sock.set_keepalive(self.world.timing.whole(idle), self.world.timing.whole(interval), count)
        return sock

    def record(self, i: int, idle: float, verdict: Verdict, how: str, detail: str, outcome: str,
               *, at: float | None = None) -> None:
        """Store connection ``i``'s result (decided at ``at``, default now) with its explanation."""
        since = self.connected.get(i, self.spec.start)
        why = explain.connection(f"connection {i}", self.world.events(self.conn(i), since), idle,
                                 self.world.limits(self.route), outcome)
        self.results[i] = ConnectionResult(
            index=i, idle=idle, verdict=verdict, how=how,
            elapsed=(self.env.now if at is None else at) - self.spec.start, detail=detail, explanation=why)

    def connect(self, i: int, sock: Socket) -> Generator[simpy.Event, Any, bool]:
        """Connect connection ``i``; record its verdict and return False when it fails.

        The natsim tool connects through its gate and gives up after its connect timeout (dead); an
        OS error gives the errno's verdict. The original tools block in connect() until the kernel
        gives up, and a failed connect is an error of the tool."""
        if self.flavour != "natsim":
            try:
                yield sock.connect()
            except TcpError as err:
                self.record(i, self.idle(i), Verdict.ERROR, "connect", str(err), f"connect failed: {err}")
                return False
            self.connected[i] = self.env.now
            return True
        with self.gate.request() as slot:
            yield slot
            event = sock.connect()
            try:
                yield event | self.env.timeout(self.connect_timeout)
            except TcpError as err:
                self.record(i, self.idle(i), verdict_of(err), "connect", err.name, f"connect: {err}")
                return False
            if not event.triggered:
                sock.abandon()
                self.record(i, self.idle(i), Verdict.DEAD, "connect", "no answer",
                            f"connect: no answer within the tool's connect timeout "
                            f"({format_duration(self.connect_timeout)})")
                return False
        self.connected[i] = self.env.now
        return True

    def start(self) -> None:
        """Start the probe's processes."""
        raise NotImplementedError

    def finish(self) -> None:
        """Called when the simulation ran out of events: settle connections still waiting."""

    def result(self) -> ProbeResult:
        """The probe's result in the shared schema."""
        self.finish()
        conns = [self.results[i] for i in sorted(self.results)]
        return ProbeResult(name=self.spec.name, kind=self.spec.kind,
                           target=f"{self.spec.server}:{self.port}", node=self.spec.client,
                           connections=conns, estimate=estimate_timeout(conns),
                           extra={"flavour": self.flavour}, complete=self.complete)


class SendProbe(TcpProbe):
    """tcp-send: write "A", read the echo."""

    def start(self) -> None:
        """All connections open at the start; tests follow the flavour's schedule."""
        if self.flavour == "natsim":
            for i in range(self.n):
                self.env.process(self._natsim(i))
        else:
            self.env.process(self._original())

    def _natsim(self, i: int) -> Gen:
        yield self.env.timeout(self.spec.start)
        sock = self.open(i)
        if (yield from self.connect(i, sock)):
            yield self.env.timeout(self.connected[i] + self.idle(i) - self.env.now)
            yield from self.test(i, sock)

    def _original(self) -> Gen:
        yield self.env.timeout(self.spec.start)
        socks = {}
        for i in range(self.n):
            sock = self.open(i)
            if (yield from self.connect(i, sock)):
                socks[i] = sock
        for i in range(self.n):
            yield self.env.timeout(self.first if i == 0 else self.step)
            if i in socks:
                yield from self.test(i, socks[i])

    def test(self, i: int, sock: Socket) -> Gen:
        """Write one byte and wait for its echo (blocking)."""
        idle = self.env.now - self.connected[i]
        how = "write"
        try:
            sock.send("A")
            how = "read"
            event = sock.read()
            if self.flavour == "natsim":   # natsim's probe gives up after the kernel's time + grace
                yield event | self.env.timeout(self.settings.give_up + self.grace)
                if not event.triggered:
                    acked = not sock.unacked
                    self.record(i, idle, Verdict.ERROR if acked else Verdict.DEAD, "read", "no answer",
                                "the server acknowledged the byte but never answered" if acked else
                                "no answer and no error from the OS")
                    sock.close()   # the tool closes every socket it is done with
                    return
            data = yield event
        except TcpError as err:
            self.record(i, idle, verdict_of(err), how, err.name, f"{how}: {err}")
            return
        if data:
            self.record(i, idle, Verdict.ALIVE, "", data, "the echo came back")
        else:
            self.record(i, idle, Verdict.EOF, "read", "EOF", "the server closed (EOF)")
        sock.close()


class RecvProbe(TcpProbe):
    """tcp-recv: ask the server to reply after the idle time, wait for the reply."""

    def __init__(self, world: World, spec: ProbeSpecLike) -> None:
        super().__init__(world, spec)
        # natsim's tool gives up ``grace`` after the reply was due; the original blocks forever
        self.read_timeout = self.grace if self.flavour == "natsim" else None
        self.waiting: dict[int, float] = {}
        self.requests = [sleep_request(s).decode("latin-1") for s in sleep_seconds(self.options)]

    @staticmethod
    def server_app(sock: Socket) -> Gen:
        """The sleep service."""
        yield from sleep_app(sock)

    def start(self) -> None:
        """Connect all, send each its number, then read (in parallel or in order)."""
        self.env.process(self._run())

    def _run(self) -> Gen:
        yield self.env.timeout(self.spec.start)
        if self.flavour == "natsim":   # each connection sets up, asks and reads on its own
            for i in range(self.n):
                self.env.process(self._one(i))
            return
        socks = {}
        for i in range(self.n):
            sock = self.open(i)
            if (yield from self.connect(i, sock)):
                sock.send(self.requests[i])
                socks[i] = sock
        for i, sock in socks.items():
            yield from self._read(i, sock)

    def _one(self, i: int) -> Gen:
        sock = self.open(i)
        if (yield from self.connect(i, sock)):
            sock.send(self.requests[i])
            yield from self._read(i, sock)

    def _read(self, i: int, sock: Socket) -> Gen:
        self.waiting[i] = self.idle(i)
        event = sock.read()
        try:
            if self.read_timeout is not None:
                deadline = self.connected[i] + self.idle(i) + self.read_timeout
                yield event | self.env.timeout(deadline - self.env.now)
                if not event.triggered:
                    del self.waiting[i]
                    self.record(i, self.idle(i), Verdict.DEAD, "read", "read timeout",
                                f"no reply {format_duration(self.read_timeout)} after it was due")
                    sock.close()   # the tool closes every socket it is done with
                    return
            data = yield event
        except TcpError as err:
            del self.waiting[i]
            self.record(i, self.idle(i), verdict_of(err), "read", err.name, f"read: {err}")
            return
        del self.waiting[i]
        took = self.env.now - self.connected[i]
        if data:
            self.record(i, self.idle(i), Verdict.ALIVE, "", data.strip(),
                        f"returned after {int(took // 60)}m {took % 60:.0f}s")
        else:
            self.record(i, self.idle(i), Verdict.EOF, "read", "EOF", "the server closed without reply")
        sock.close()   # as the tool does: its entry leaves the NAT's count (time_wait), not close_wait

    def finish(self) -> None:
        """Reads still blocked when nothing more can happen: their reply is lost for good."""
        blocked = sorted(self.waiting)
        for i in blocked:
            events = [e for e in self.world.events(self.conn(i), self.connected.get(i, 0.0)) if not e.routine]
            last = events[-1].time if events else self.env.now
            outcome = ("the original tool blocks in read() forever here" if self.flavour == "original"
                       else "no reply ever arrives: a blocking read() would wait forever")
            self.record(i, self.idle(i), Verdict.DEAD, "read", "no reply", outcome, at=last)
        self.waiting.clear()
        for i in range(self.n):
            if i not in self.results:
                self.complete = False
                self.results[i] = ConnectionResult(
                    index=i, idle=self.idle(i), verdict=Verdict.SKIPPED,
                    explanation=f"connection {i}: never read; the tool blocks forever on connection "
                                f"{blocked[0] if blocked else '?'}")
        if blocked and self.flavour == "original":
            self.complete = False


class KeepaliveProbe(TcpProbe):
    """tcp-keepalive: SO_KEEPALIVE with idle ``first + i*step``, never sends data."""

    def __init__(self, world: World, spec: ProbeSpecLike) -> None:
        super().__init__(world, spec)
        opts = self.options
        assert isinstance(opts, TcpKeepaliveOptions)
        _, system_interval, system_count = world.endpoint(spec.client).keepalive   # the client's sysctls
        self.interval = system_interval if opts.keepalive_interval is None else opts.keepalive_interval
        self.count = opts.keepalive_count if opts.keepalive_count is not None else system_count
        self.uncertain: list[int] = []

    def _flag_late_timer(self, i: int, idle: float) -> None:
        """The kernel may fire the keepalive timer up to 1/8 of ``idle`` late: flag a connection
        whose first probe would then meet an expired entry (the lab may call it dead)."""
        late = wheel_late(self.world.timing, idle)
        close = [(n, t) for n, t in self.world.limits(self.route) if idle < t <= idle + late]
        if close:
            name, timeout = close[0]
            self.uncertain.append(i)
            result = self.results[i]
            result.explanation += "; " + explain.late_timer(late, name, timeout)

    def result(self) -> ProbeResult:
        """The result; ``extra["uncertain"]`` lists connections a late keepalive timer may kill."""
        result = super().result()
        result.extra["uncertain"] = sorted(self.uncertain)
        return result

    def start(self) -> None:
        """One process per connection (the original behaves the same: no drift possible)."""
        for i in range(self.n):
            self.env.process(self._conn(i))

    def _conn(self, i: int) -> Gen:
        yield self.env.timeout(self.spec.start)
        sock = self.open(i)
        whole = self.world.timing.whole   # the kernel takes whole (lab) seconds
        sock.set_keepalive(whole(self.idle(i)), whole(self.interval), self.count)
        if not (yield from self.connect(i, sock)):
            return
        assert sock.settings.keepalive is not None
        idle, interval, count = sock.settings.keepalive
        deadline = self.connected[i] + idle + (count + 1) * interval + self.grace
        yield sock.failed | sock.keepalive_answered | self.env.timeout(deadline - self.env.now)
        if sock.error is not None:
            err = sock.error
            self.record(i, self.idle(i), verdict_of(err), "keepalive", err.name, f"keepalive: {err}")
        elif sock.keepalive_answered.triggered:
            self.record(i, self.idle(i), Verdict.ALIVE, "", "keepalive probe answered",
                        f"the keepalive probe after {format_duration(idle)} was answered")
            self._flag_late_timer(i, idle)
        else:
            self.record(i, self.idle(i), Verdict.ERROR, "keepalive", "no answer, no error",
                        "neither an answered probe nor an error from the OS")
        sock.close()

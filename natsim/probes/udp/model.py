"""The UDP probes (udp-send, udp-recv, udp-keepalive) in the model, with the tools' exact schedule.

Every flow starts at the probe's start with its first exchange (ECHO, answered at once); udp-recv and
udp-keepalive then send LATER(idle); the idle runs from the last datagram the client sent. The server
is the service's own code path: :func:`~natsim.probes.udp.datagram.answer_to` decides every answer, as
in ``natsim serve`` (a LATER is answered ``seconds`` real-world seconds after it arrived). The verdict
comes from what reached the client's socket by the deadline plus the tool's grace (wall-clock, so
``grace * time_scale`` real-world seconds): the answer (alive), an ICMP port unreachable (refused:
ECONNREFUSED), or nothing (dead).
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any, cast

import simpy

from natsim.probes.idle_ladder import GRACE_WALL
from natsim.probes.registry import ProbeModel, options_of
from natsim.probes.registry import kind as probe_kind
from natsim.probes.udp.datagram import Datagram, Op, answer_to, parse, request
from natsim.probes.udp.flow import show
from natsim.probes.udp.options import UdpKeepaliveOptions, UdpRecvOptions, UdpSendOptions, delays
from natsim.report.schema import ConnectionResult, ProbeResult, Verdict, estimate_timeout
from natsim.sim import explain
from natsim.sim.network import Addr, Route
from natsim.sim.segment import Segment
from natsim.sim.udp_endpoint import UdpError, UdpSocket
from natsim.sim.world import World

Gen = Generator[simpy.Event, Any, None]


def serve(sock: UdpSocket, seg: Segment, route: Route, outbound: bool) -> None:
    """The UDP service: what ``natsim serve`` answers, when it answers it."""
    decided = answer_to(seg.payload, seg.src)
    if decided is None:
        return
    reply, seconds = decided

    def answer(_: object = None) -> None:
        sock.send(reply, to=seg.src, route=route, outbound=not outbound, conn=seg.conn)

    if seconds == 0:
        answer()
    else:
        sock.env.timeout(seconds).callbacks.append(answer)


class UdpProbe(ProbeModel):
    """One UDP probe of a scenario: a flow per rung, each against its own deadline."""

    def __init__(self, world: World, spec: Any) -> None:
        self.world = world
        self.env = world.env
        self.spec = spec
        opts = options_of(spec)
        assert isinstance(opts, UdpSendOptions)
        self.options = opts
        self.later = isinstance(opts, UdpRecvOptions)
        self.delays = delays(opts) if self.later else []
        self.interval = opts.interval if isinstance(opts, UdpKeepaliveOptions) else None
        service = probe_kind(spec.kind).service
        assert service is not None
        self.port = opts.port if opts.port is not None else service.port
        #: how long the tool waits past a deadline before calling silence dead (real-world seconds)
        self.grace = world.timing.unscaled(GRACE_WALL)
        self.route = world.route(spec.client, spec.server)
        self.results: dict[int, ConnectionResult] = {}
        world.udp_bind(spec.server, self.port, serve)

    def conn(self, i: int) -> str:
        """Trace label of flow ``i``."""
        return f"{self.spec.name}#{i}"

    def start(self) -> None:
        """One process per flow."""
        for i in range(self.options.connections):
            self.env.process(self._flow(i))

    def _flow(self, i: int) -> Gen:
        yield self.env.timeout(self.spec.start)
        sock = self.world.udp_socket(self.spec.client, self.spec.server, self.port, self.conn(i))
        idle = self.options.idle(i)
        try:
            sock.send(request(Op.ECHO, i, 1))
            first = yield from self._answer(sock, 1, self.env.now)
            if first is None:
                self._record(i, idle, self.env.now, Verdict.ERROR, "setup", "no answer to the first exchange",
                             "the flow's first exchange was not answered (the tool stops: a set-up error)")
                return
            since = self.env.now
            if self.later:
                sock.send(request(Op.LATER, i, 2, self.delays[i]))
                since = self.env.now
            yield from self._test(i, sock, idle, since, first)
        finally:
            sock.close()

    def _test(self, i: int, sock: UdpSocket, idle: float, since: float, first: Datagram) -> Gen:
        how = "answer"
        try:
            if not self.later:
                yield self.env.timeout(since + idle - self.env.now)
                how = "send"
                sock.send(request(Op.ECHO, i, 3))
                how = "answer"
            if self.interval is not None:
                self.env.process(self._keep(i, sock, since))
            seq = 3 if not self.later else 2
            answer = yield from self._answer(sock, seq, since + idle + self.grace if self.later
                                             else self.env.now + self.grace)
        except UdpError as err:
            self._record(i, idle, since, Verdict.REFUSED, how, f"{err.name}: Connection refused",
                         f"{how}: {err}")
            return
        if answer is None:
            self._record(i, idle, since, Verdict.DEAD, how, f"no answer within {GRACE_WALL:g} s",
                         "no answer came back")
        elif answer.observed == first.observed:
            self._record(i, idle, since, Verdict.ALIVE, "", f"mapping {show(answer.observed)}",
                         "the answer came back")
        else:
            self._record(i, idle, since, Verdict.ALIVE, "",
                         f"re-mapped: {show(first.observed)} -> {show(answer.observed)}",
                         "the answer came back from a new mapping")

    def _answer(self, sock: UdpSocket, seq: int,
                until: float) -> Generator[simpy.Event, Any, Datagram | None]:
        """The answer to request ``seq`` by ``until``, or None; :class:`UdpError` on ECONNREFUSED."""
        while True:
            reader = sock.recv()
            yield reader | self.env.timeout(max(0.0, until - self.env.now))
            if not reader.triggered:
                return None
            payload, _ = cast(tuple[bytes, Addr], reader.value)
            datagram = parse(payload)
            if datagram.answer and datagram.seq == seq:
                return datagram

    def _keep(self, i: int, sock: UdpSocket, since: float) -> Gen:
        """KEEP every ``interval`` from ``since`` until the flow's verdict (absolute deadlines)."""
        assert self.interval is not None
        beat = 1
        while i not in self.results:
            yield self.env.timeout(since + beat * self.interval - self.env.now)
            if i in self.results:
                return
            try:
                sock.send(request(Op.KEEP, i, 3 + beat))
            except UdpError:
                return   # the waiting read reports the error
            beat += 1

    def _record(self, i: int, idle: float, since: float, verdict: Verdict, how: str, detail: str,
                outcome: str) -> None:
        why = explain.flow(f"connection {i}", self.world.events(self.conn(i), since), idle,
                           self.world.udp_limits(self.route), outcome)
        self.results[i] = ConnectionResult(index=i, idle=idle, verdict=verdict, how=how,
                                           elapsed=self.env.now - self.spec.start, detail=detail,
                                           explanation=why)

    def result(self) -> ProbeResult:
        """The probe's result in the shared schema."""
        conns = [self.results[i] for i in sorted(self.results)]
        complete = len(conns) == self.options.connections
        extra: dict[str, object] = {"step": self.options.step, "first": self.options.idle(0)}
        if self.interval is not None:
            extra["interval"] = self.interval
        return ProbeResult(name=self.spec.name, kind=self.spec.kind,
                           target=f"{self.spec.server}:{self.port}", node=self.spec.client,
                           connections=conns, estimate=estimate_timeout(conns), extra=extra,
                           complete=complete)


def model(world: World, spec: Any) -> ProbeModel:
    """The model of a UDP probe (the kinds' ``model``)."""
    return UdpProbe(world, spec)

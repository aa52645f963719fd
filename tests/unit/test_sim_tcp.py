"""TCP endpoints through a middlebox: exact event logs (simpy style)."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import pytest

from natsim.middleboxes import build_model
from natsim.middleboxes.conntrack.policy import Untracked
from natsim.middleboxes.cpe_bridge import CpeBridge
from natsim.probes.tcp.model import echo_app
from natsim.sim.network import Drop, Route, Segment
from natsim.sim.tcp_endpoint import Socket, TcpError
from natsim.sim.timers import TcpSettings
from natsim.sim.trace import Dropped, Event, Expired, PacketEvent, PickedUp, Reason, Reset
from natsim.sim.world import World
from natsim.units import TimeScale


def world(**cpe: Any) -> World:
    config = CpeBridge(idle_timeout=10.0, **cpe)
    timing = TimeScale(1.0)
    return World({"cpe": build_model("cpe", config, timing)}, ("client", "cpe", "server"), timing,
                 packets=True)


def hold_app(sock: Socket) -> Generator[Any, Any, None]:
    """A server that never answers (waits for data forever)."""
    yield sock.read()


def facts(events: list[Event]) -> list[tuple[Any, ...]]:
    """(time, node, event, packet, direction, what it adds) of each packet event."""
    out: list[tuple[Any, ...]] = []
    for e in events:
        assert isinstance(e, PacketEvent)
        extra: Any = None
        if isinstance(e, Expired):
            extra = (e.state, e.idle, e.timeout)
        elif isinstance(e, Dropped | Reset):
            extra = e.reason
        out.append((round(e.time, 6), e.node, type(e).__name__, e.segment.what(), e.direction, extra))
    return out


def test_dropped_segment_is_retransmitted_until_user_timeout() -> None:
    w = world()
    settings = TcpSettings.for_lab(w.timing, user_timeout=3.0)
    w.listen("server", 7, echo_app, settings)
    log: list[tuple[float, str]] = []

    def client() -> Generator[Any, Any, None]:
        sock = w.socket("client", "server", 7, "c", settings)
        yield sock.connect()
        log.append((w.env.now, "connected"))
        yield w.env.timeout(10)
        sock.send("A")
        try:
            yield sock.read()
        except TcpError as err:
            log.append((w.env.now, err.name))
            assert sock.retransmissions == 3

    w.env.process(client())
    w.env.run()
    assert log == [(0, "connected"), (13.0, "ETIMEDOUT")]
    untracked = Reason.UNTRACKED
    assert facts(w.trace.events) == [
        (0, "cpe", "Forwarded", "SYN", "outbound", None),
        (0, "cpe", "Forwarded", "SYN-ACK", "inbound", None),
        (0, "cpe", "Forwarded", "ACK", "outbound", None),
        (10, "cpe", "Expired", "data segment", "outbound", ("established", 10.0, 10.0)),
        (10, "cpe", "Dropped", "data segment", "outbound", untracked),
        (10.2, "cpe", "Unknown", "data segment", "outbound", None),
        (10.2, "cpe", "Dropped", "data segment", "outbound", untracked),
        (10.6, "cpe", "Unknown", "data segment", "outbound", None),
        (10.6, "cpe", "Dropped", "data segment", "outbound", untracked),
        (11.4, "cpe", "Unknown", "data segment", "outbound", None),
        (11.4, "cpe", "Dropped", "data segment", "outbound", untracked),
    ]


def test_echo_within_timeout_and_eof_after() -> None:
    w = world()
    settings = TcpSettings.for_lab(w.timing)
    w.listen("server", 7, echo_app, settings)
    log: list[tuple[float, str]] = []

    def client() -> Generator[Any, Any, None]:
        sock = w.socket("client", "server", 7, "c", settings)
        yield sock.connect()
        yield w.env.timeout(9.999)
        sock.send("A")
        log.append((w.env.now, (yield sock.read())))
        log.append((w.env.now, (yield sock.read())))

    w.env.process(client())
    w.env.run()
    assert log == [(9.999, "A"), (9.999, "")]
    assert [(type(e).__name__, e.segment.what()) for e in w.trace.events if isinstance(e, PacketEvent)] == [
        ("Forwarded", "SYN"), ("Forwarded", "SYN-ACK"), ("Forwarded", "ACK"),
        ("Forwarded", "data segment"), ("Forwarded", "ACK"),
        ("Forwarded", "data segment"), ("Forwarded", "FIN"),
        ("Forwarded", "ACK"), ("Forwarded", "ACK")]


def test_keepalive_keeps_entry_fresh_then_dies_when_dropped() -> None:
    # keepalive every 6 s keeps a 10 s entry alive; at t=20 the modem's timeout drops to 5 s, which
    # applies from the next refresh (t=24): the probe at t=30 finds the entry expired
    w = world()
    settings = TcpSettings.for_lab(w.timing)
    w.listen("server", 7, hold_app, settings)
    log: list[tuple[float, str]] = []

    def client() -> Generator[Any, Any, None]:
        sock = w.socket("client", "server", 7, "c", settings)
        sock.set_keepalive(6, 2, 3)
        yield sock.connect()
        yield w.env.timeout(20)
        w.models["cpe"].table.timeouts["tcp"]["established"] = 5.0   # the modem gets stricter
        err = yield sock.failed
        log.append((w.env.now, err.name))

    w.env.process(client())
    w.env.run()
    probes = [f for f in facts(w.trace.events) if f[3] == "keepalive probe"]
    assert probes == [
        (6, "cpe", "Forwarded", "keepalive probe", "outbound", None),
        (12, "cpe", "Forwarded", "keepalive probe", "outbound", None),
        (18, "cpe", "Forwarded", "keepalive probe", "outbound", None),
        (24, "cpe", "Forwarded", "keepalive probe", "outbound", None),
        (30, "cpe", "Expired", "keepalive probe", "outbound", ("established", 6.0, 5.0)),
        (30, "cpe", "Dropped", "keepalive probe", "outbound", Reason.UNTRACKED),
        (32, "cpe", "Unknown", "keepalive probe", "outbound", None),
        (32, "cpe", "Dropped", "keepalive probe", "outbound", Reason.UNTRACKED),
        (34, "cpe", "Unknown", "keepalive probe", "outbound", None),
        (34, "cpe", "Dropped", "keepalive probe", "outbound", Reason.UNTRACKED),
    ]
    assert log == [(36, "ETIMEDOUT")]


def test_rst_from_server_is_econnreset() -> None:
    # pickup re-creates the modem's entry, but the server forgot the connection: it answers RST
    w = world(untracked_outbound=Untracked.PICKUP)
    settings = TcpSettings.for_lab(w.timing)
    w.listen("server", 7, hold_app, settings)
    log: list[tuple[float, str]] = []

    def client() -> Generator[Any, Any, None]:
        sock = w.socket("client", "server", 7, "c", settings)
        yield sock.connect()
        w.hosts["server"].sockets.clear()
        yield w.env.timeout(30)
        sock.send("A")
        try:
            yield sock.read()
        except TcpError as err:
            log.append((w.env.now, err.name))
        with pytest.raises(TcpError):
            sock.send("B")

    w.env.process(client())
    w.env.run()
    assert log == [(30, "ECONNRESET")]
    assert facts(w.trace.events[3:]) == [
        (30, "cpe", "Expired", "data segment", "outbound", ("established", 30.0, 10.0)),
        (30, "cpe", "PickedUp", "data segment", "outbound", None),
        (30, "server", "Reset", "data segment", "outbound", Reason.NO_SOCKET),
        (30, "cpe", "Forwarded", "RST", "inbound", None),
    ]
    picked = w.trace.events[4]
    assert isinstance(picked, PickedUp) and picked.public is None     # a bridge: no re-mapping
    refused = w.trace.events[5]
    assert refused.tuple == (("client", 40000), ("server", 7))


class BlackHole:
    """A middlebox model that drops everything."""

    name = "hole"

    def handle(self, seg: Segment, outbound: bool, now: float) -> Drop:
        return Drop((Dropped.at(now, self.name, seg, outbound, reason=Reason.FILTERED),))


def test_connect_times_out_without_syn_ack() -> None:
    w = world()
    route = Route(w.env, w.host("client"), [BlackHole()], w.host("server"), w.trace)
    sock = Socket(w.host("client"), route, ("client", 1), ("server", 9), TcpSettings(), "c",
                  outbound=True)
    log: list[tuple[float, str]] = []

    def client() -> Generator[Any, Any, None]:
        try:
            yield sock.connect()
        except TcpError as err:
            log.append((w.env.now, err.name))

    w.env.process(client())
    w.env.run()
    assert log == [(127.0, "ETIMEDOUT")]
    assert [f[:4] for f in facts(w.trace.events)] == [
        (t, "hole", "Dropped", "SYN") for t in (0, 1, 3, 7, 15, 31, 63)]


def test_connect_refused_without_listener() -> None:
    w = world()
    sock = w.socket("client", "server", 9, "c", TcpSettings())
    log: list[tuple[float, str]] = []

    def client() -> Generator[Any, Any, None]:
        try:
            yield sock.connect()
        except TcpError as err:
            log.append((w.env.now, err.name))

    w.env.process(client())
    w.env.run()
    assert log == [(0, "ECONNREFUSED")]


@pytest.mark.parametrize("request_line", ["3.5\n", "86401\n", "abc\n", "7", "7\n", "0\n", "7\r\n", "1e1\n"])
def test_model_sleep_service_parses_like_the_server(request_line: str) -> None:
    """The model's sleep service answers exactly the requests the real server accepts (its parser)."""
    from natsim.probes.tcp.model import sleep_app
    from natsim.probes.tcp.protocol import BadRequest, parse_sleep_request

    try:
        expected: tuple[float, str] | None = (float(parse_sleep_request(request_line.encode())), request_line)
    except BadRequest:
        expected = None
    w = world()
    settings = TcpSettings.for_lab(w.timing)
    w.listen("server", 7, sleep_app, settings)
    got: list[tuple[float, str]] = []

    def client() -> Generator[Any, Any, None]:
        sock = w.socket("client", "server", 7, "c", settings)
        yield sock.connect()
        sock.send(request_line)
        reply = yield sock.read()
        if reply:
            got.append((w.env.now, reply))

    w.env.process(client())
    w.env.run()
    assert got == ([expected] if expected else [])

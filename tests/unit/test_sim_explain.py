"""The one place natsim words the model's events: every phrase users read in explanations."""

from __future__ import annotations

import errno

from natsim.sim import explain
from natsim.sim.network import Segment
from natsim.sim.trace import (
    Abort,
    Aborted,
    Bypassed,
    Cut,
    Dropped,
    Expired,
    Intercepted,
    NotIntercepted,
    Passed,
    PickedUp,
    Reason,
    Reset,
    Unknown,
)

OUT = Segment(("client", 40000), ("server", 7), "PA", "c", seq=1, data="A")
FIN_IN = Segment(("server", 7), ("cgn-wan", 40000), "FA", "c", seq=2)


def test_an_expired_entry_and_what_the_node_did() -> None:
    expired = Expired.at(10.0, "cpe", OUT, True, state="established", idle=10.0, timeout=10.0)
    dropped = Dropped.at(10.0, "cpe", OUT, True, reason=Reason.UNTRACKED)
    assert explain.summarise([expired, dropped]) == (
        "idle 10s ≥ cpe established timeout 10s; outbound data segment dropped as untracked")


def test_repeats_fold_with_a_count() -> None:
    events = [Expired.at(0.0, "cpe", OUT, True, state="established", idle=3600.0, timeout=3600.0),
              Dropped.at(0.0, "cpe", OUT, True, reason=Reason.UNTRACKED)]
    for t in (0.2, 0.6, 1.4, 3.0):
        events += [Unknown.at(t, "cpe", OUT, True), Dropped.at(t, "cpe", OUT, True, reason=Reason.UNTRACKED)]
    assert explain.summarise(events) == ("idle 1h ≥ cpe established timeout 1h; outbound data "
                                         "segment dropped as untracked (5 times)")
    assert explain.describe(events[2]) == "cpe has no entry for this outbound data segment"


def test_pickup_reset_and_the_hosts_stack() -> None:
    cause = Expired.at(30.0, "cpe", OUT, True, state="established", idle=30.0, timeout=10.0)
    assert explain.summarise([cause, PickedUp.at(30.0, "cpe", OUT, True),
                              Reset.at(30.0, "server", OUT, True, reason=Reason.NO_SOCKET)]) == (
        "idle 30s ≥ cpe established timeout 10s; outbound data segment picked up by cpe (new entry); "
        "server has no socket for client:40000 -> :7; its stack answers the data segment with RST")
    same = PickedUp.at(199.999, "cgn", OUT, True, public=("192.0.2.1", 40000))
    other = PickedUp.at(199.999, "cgn", OUT, True, public=("192.0.2.1", 1024))
    assert explain.describe(same) == "outbound data segment picked up by cgn, re-mapped to the same port"
    assert explain.describe(other) == "outbound data segment picked up by cgn, re-mapped to port 1024"


def test_a_nats_own_stack_invalid_packets_and_exhaustion() -> None:
    inbound = Segment(("server", 7), ("192.0.2.1", 40000), "PA", "c", seq=1, data="x")
    unknown = Unknown.at(0.0, "cgn", inbound, False)
    assert explain.summarise([unknown, Reset.at(0.0, "cgn", inbound, False, reason=Reason.NO_MAPPING)]) == (
        "cgn has no entry for this inbound data segment; inbound data segment has no mapping and reaches "
        "cgn's own stack, which answers RST")
    assert explain.describe(Reset.at(0.0, "cgn", inbound, False, reason=Reason.UNTRACKED)) == (
        "inbound data segment answered with RST by cgn")
    assert explain.describe(Reset.at(0.0, "cgn", FIN_IN, False, reason=Reason.INVALID)) == (
        "inbound FIN (invalid) answered with RST by cgn")
    assert explain.describe(Dropped.at(0.0, "cgn", FIN_IN, False, reason=Reason.INVALID)) == (
        "inbound FIN of no known connection dropped as invalid")
    assert explain.describe(Passed.at(0.0, "cpe", FIN_IN, False, reason=Reason.INVALID)) == (
        "inbound FIN passes untracked (cpe cannot pick up a FIN/RST: invalid, no entry)")
    syn = Segment(("100.64.1.10", 3), ("server", 7), "S", "c")
    assert explain.describe(Dropped.at(0.0, "cgn", syn, True, reason=Reason.EXHAUSTED, limit=2)) == (
        "cgn: port exhaustion: 100.64.1.10 has all 2 ports mapped; SYN dropped")
    blocked = Segment(("server", 7), ("client", 8080), "S", "c")
    assert explain.describe(Dropped.at(0.0, "fw", blocked, False, reason=Reason.FILTERED)) == (
        "fw lets no new inbound connection to port 8080; SYN dropped")


def test_socket_errors_and_a_servers_abort() -> None:
    rtx = Aborted(13.0, "client", "c", errno.ETIMEDOUT, Abort.RETRANSMISSIONS, count=4, after=300.0)
    assert explain.socket_error(rtx) == "ETIMEDOUT: no ACK after 4 retransmissions (5m)"
    keepalive = Aborted(36.0, "client", "c", errno.ETIMEDOUT, Abort.KEEPALIVE, count=9, after=7200.0,
                        interval=75.0)
    assert explain.socket_error(keepalive) == (
        "ETIMEDOUT: 9 keepalive probes unanswered (idle 2h, interval 1m15s)")
    rst = Aborted(30.0, "server", "c", errno.ECONNRESET, Abort.RST, peer="192.0.2.1")
    assert explain.summarise([rst]) == "server aborts; ECONNRESET: RST received from 192.0.2.1"
    assert explain.socket_error(Aborted(127.0, "client", "c", errno.ETIMEDOUT, Abort.CONNECT)) == (
        "ETIMEDOUT: connect: no SYN-ACK")


def test_nothing_happened_and_the_late_keepalive_timer() -> None:
    limits = [("cpe", 3600.0), ("cgn", 14400.0)]
    assert explain.connection("connection 58", [], 3540.0, limits, "the echo came back") == (
        "connection 58: idle 59m < cpe established timeout 1h, cgn established timeout 4h; "
        "the echo came back")
    assert explain.quiet(7200.0, limits) == (
        "idle 2h, nothing dropped (cpe established timeout 1h, cgn established timeout 4h)")
    assert explain.quiet(60.0, []) == "no stateful middlebox on the path"
    assert explain.late_timer(122.88, "cpe", 3600.0) == (
        "but the kernel's timer wheel may fire it up to 2m3s late, past cpe's 1h timeout: "
        "it may die instead")


def test_interceptions() -> None:
    args = (100.0, "fw", "first#0", "client1", "gossh", 2222)
    assert explain.login(NotIntercepted(*args)) == "port 2222 is not intercepted by fw"
    assert explain.login(Bypassed(*args, until=3835.09)) == (
        "client1 -> gossh:2222 is in fw's bypass set for another 1h2m15s")
    assert explain.login(Intercepted(*args, kex="diffie-hellman-group-exchange-sha256")) == (
        "fw intercepts and agrees on diffie-hellman-group-exchange-sha256 with the backend "
        "(its own host key)")
    assert explain.login(Cut(*args, offered=("dh-a", "dh-b"), bypass=3735.09)) == (
        "fw intercepts; no common key exchange with the backend (dh-a, dh-b vs its list); FIN to the "
        "client and client1 -> gossh:2222 bypassed for 1h2m15s")

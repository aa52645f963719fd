"""A TCP endpoint, as far as outcomes depend on it.

What is modelled: the handshake (SYN retransmitted until ``syn_give_up``), data segments numbered
1, 2, ... and acknowledged cumulatively, retransmission of unacknowledged data with the Linux
back-off until ``give_up`` (``tcp_retries2`` or ``TCP_USER_TIMEOUT``) ends in ETIMEDOUT, keepalive
(idle, interval, count; a probe is answered by an ACK), RST ending the connection in ECONNRESET,
FIN read as EOF. What the application sees comes from :meth:`Socket.read` and :meth:`Socket.send`.
Not modelled: windows, congestion, delayed ACKs, SACK, out-of-order delivery (links never reorder).
"""

from __future__ import annotations

import errno
from collections.abc import Generator
from dataclasses import replace
from typing import Any

import simpy

from natsim.errors import NatsimError
from natsim.report.schema import errno_name
from natsim.sim.explain import socket_error
from natsim.sim.network import Addr, Host, Route, Segment
from natsim.sim.timers import TcpSettings, backoff_schedule
from natsim.sim.trace import Abort, Aborted


class TcpError(NatsimError):
    """What a socket call reports: the :class:`~natsim.sim.trace.Aborted` event that ended the
    connection; ``errno`` is :data:`errno.ETIMEDOUT`, ``ECONNRESET`` or ``ECONNREFUSED``."""

    def __init__(self, event: Aborted) -> None:
        self.event = event
        self.errno = event.errno
        super().__init__(event)

    @property
    def name(self) -> str:
        """The errno's name, ``'ETIMEDOUT'``."""
        return errno_name(self.errno)

    def __str__(self) -> str:
        return socket_error(self.event)


class Socket:
    """One end of a TCP connection on ``host``; ``outbound`` when it sits at the client end."""

    def __init__(self, host: Host, route: Route, local: Addr, remote: Addr, settings: TcpSettings,
                 conn: str, *, outbound: bool) -> None:
        self.env: simpy.Environment = host.env
        self.host = host
        self.route = route
        self.local = local
        self.remote = remote
        self.settings = settings
        self.conn = conn
        self.outbound = outbound
        self.state = "closed"
        self.error: TcpError | None = None
        self.snd_una = 0
        self.snd_nxt = 0
        self.rcv_nxt = 0
        self.unacked: list[tuple[int, str, bool]] = []   # (seq, data, fin)
        self.fin_sent = False
        self.peer_fin = False
        self.rx: list[str] = []
        self.last_rx = self.env.now
        self.retransmissions = 0
        self._rtx_gen = 0
        self._ka_gen = 0
        self._readers: list[simpy.Event] = []
        self._connected: simpy.Event | None = None
        #: succeeds with the :class:`TcpError` that ended the connection
        self.failed: simpy.Event = self.env.event()
        #: succeeds (with the time) when a segment arrives after a keepalive probe was sent
        self.keepalive_answered: simpy.Event = self.env.event()
        self._probed = False
        host.sockets[(local, remote)] = self

    # ---- application interface -------------------------------------------------------------

    def connect(self) -> simpy.Event:
        """Send SYN; the event succeeds when established and fails with :class:`TcpError`."""
        self._connected = self.env.event()
        self.state = "syn_sent"
        self._transmit("S")
        self._syn_wait(self.env.now, self.settings.syn_rto)
        return self._connected

    def abandon(self) -> None:
        """Close a socket still connecting (a tool's own connect timeout): no more SYNs, and the host
        forgets it, so a late SYN-ACK meets the stack's RST as on Linux."""
        if self.state != "syn_sent":
            raise ValueError(f"abandon() of a socket in state {self.state}")
        self.state = "closed"
        self.host.sockets.pop((self.local, self.remote), None)

    def send(self, data: str, *, fin: bool = False) -> None:
        """Queue ``data`` (and FIN with ``fin``); raises :class:`TcpError` on a dead connection."""
        if self.error is not None:
            raise self.error
        if not data and not fin:
            raise ValueError("nothing to send")
        self.snd_nxt += 1
        self.unacked.append((self.snd_nxt, data, fin))
        self.fin_sent = self.fin_sent or fin
        self._transmit("PA" + ("F" if fin else "") if data else "FA", seq=self.snd_nxt, data=data)
        if len(self.unacked) == 1:
            self._start_rtx()

    def close(self) -> None:
        """Send FIN (once) and stop keepalive; a dead connection closes silently."""
        self._ka_gen += 1
        if self.error is None and not self.fin_sent and self.state == "established":
            self.send("", fin=True)

    def read(self) -> simpy.Event:
        """Succeeds with received data, ``""`` at EOF; fails with :class:`TcpError`."""
        event = self.env.event()
        if self.rx:
            event.succeed("".join(self.rx))
            self.rx.clear()
        elif self.peer_fin:
            event.succeed("")
        elif self.error is not None:
            event.defused = True
            event.fail(self.error)
        else:
            self._readers.append(event)
        return event

    def set_keepalive(self, idle: float, interval: float, count: int) -> None:
        """SO_KEEPALIVE with TCP_KEEPIDLE/KEEPINTVL/KEEPCNT (real-world seconds)."""
        self.settings = replace(self.settings, keepalive=(idle, interval, count))
        if self.state == "established":
            self._start_keepalive()

    # ---- segments ----------------------------------------------------------------------------

    def _transmit(self, flags: str, *, seq: int = 0, data: str = "", keepalive: bool = False) -> None:
        seg = Segment(self.local, self.remote, flags, self.conn, seq=seq, ack=self.rcv_nxt, data=data,
                      keepalive=keepalive)
        self.route.send(seg, self.outbound)

    def on_segment(self, seg: Segment) -> None:
        """Handle a segment addressed to this socket."""
        if self.state in ("closed", "reset", "timed_out"):
            if self.state == "closed" and seg.flags == "S":
                self.state = "syn_recv"
                self.last_rx = self.env.now
                self._transmit("SA")
            return
        self.last_rx = self.env.now
        if self._probed and not self.keepalive_answered.triggered and "R" not in seg.flags:
            self.keepalive_answered.succeed(self.env.now)
        if "R" in seg.flags:
            code = errno.ECONNREFUSED if self.state == "syn_sent" else errno.ECONNRESET
            self._abort(code, Abort.RST, peer=seg.src[0])
            return
        if self.state == "syn_sent":
            if seg.flags == "SA":
                self._established()
                self._transmit("A")
                if self._connected is not None:
                    self._connected.succeed()
            return
        if self.state == "syn_recv":
            if seg.flags == "S":
                self._transmit("SA")
                return
            self._established()
        if seg.ack > self.snd_una:
            self.snd_una = seg.ack
            self.unacked = [u for u in self.unacked if u[0] > seg.ack]
            self._rtx_gen += 1
            if self.unacked:
                self._start_rtx()
        if seg.seq:
            if seg.seq == self.rcv_nxt + 1:
                self.rcv_nxt = seg.seq
                if seg.data:
                    self.rx.append(seg.data)
                if "F" in seg.flags:
                    self.peer_fin = True
                self._wake()
            self._transmit("A")
        elif seg.keepalive:
            self._transmit("A")

    def _established(self) -> None:
        self.state = "established"
        if self.settings.keepalive is not None:
            self._start_keepalive()

    def _wake(self) -> None:
        while self._readers and (self.rx or self.peer_fin):
            self._readers.pop(0).succeed("".join(self.rx))
            self.rx.clear()

    def _abort(self, code: int, cause: Abort, **details: Any) -> None:
        if self.error is not None:
            return
        aborted = Aborted(self.env.now, self.host.name, self.conn, code, cause, **details)
        self.error = TcpError(aborted)
        if not self.outbound:   # the client's own error is its probe's outcome; the server's is news
            self.host.trace.record(aborted)
        self.state = "reset" if code != errno.ETIMEDOUT else "timed_out"
        self._rtx_gen += 1
        self._ka_gen += 1
        self.failed.succeed(self.error)
        if self._connected is not None and not self._connected.triggered:
            self._connected.defused = True
            self._connected.fail(self.error)
        readers, self._readers = self._readers, []
        for event in readers:
            event.defused = True
            event.fail(self.error)

    # ---- timers ------------------------------------------------------------------------------

    def _syn_wait(self, start: float, rto: float) -> None:
        """Retransmit the SYN after ``rto`` (from ``syn_rto``, doubling up to ``rto_max``), each wait
        clamped to what is left until ``syn_give_up`` (the kernel's retry count, or TCP_USER_TIMEOUT),
        then ETIMEDOUT. Timers with a callback, not a process (two simpy events fewer per connect)."""
        s = self.settings
        left = round(start + s.syn_give_up - self.env.now, 9)
        if left <= 0:
            self._abort(errno.ETIMEDOUT, Abort.CONNECT)
            return
        delay = min(rto, left)
        tick = s.wheel_tick
        timer = self.env.timeout(delay) if tick is None else self.host.wheel.timer(delay, tick)
        timer.callbacks.append(lambda _: self._syn_due(start, rto, delay == left))

    def _syn_due(self, start: float, rto: float, last: bool) -> None:
        if self.state != "syn_sent":
            return
        if last or self.env.now >= start + self.settings.syn_give_up:
            self._abort(errno.ETIMEDOUT, Abort.CONNECT)
            return
        self._transmit("S")
        self._syn_wait(start, min(rto * 2, self.settings.rto_max))

    def _start_rtx(self) -> None:
        """(Re)arm the retransmission timer: the Linux back-off from now, ETIMEDOUT at ``give_up``; an
        earlier arm is void (its generation is old). Timeouts with a callback, not a process per arm:
        a process costs two more simpy events (its start and its end), and a prediction of
        isp-modem-bridge-1h arms 945 times."""
        self._rtx_gen += 1
        s, now = self.settings, self.env.now
        due = [now + offset for offset in backoff_schedule(s.give_up, rto=s.rto, rto_max=s.rto_max)]
        self._rtx_wait(self._rtx_gen, [*due, now + s.give_up], 0, s.give_up)

    def _rtx_wait(self, gen: int, due: list[float], i: int, give_up: float) -> None:
        """Wait for ``due[i]``: a retransmission of the arm ``gen``, or (the last) its give-up."""
        timeout = self.env.timeout(due[i] - self.env.now)
        timeout.callbacks.append(lambda _: self._rtx_due(gen, due, i, give_up))

    def _rtx_due(self, gen: int, due: list[float], i: int, give_up: float) -> None:
        if gen != self._rtx_gen:
            return
        if i == len(due) - 1:
            self._abort(errno.ETIMEDOUT, Abort.RETRANSMISSIONS, count=self.retransmissions, after=give_up)
            return
        self.retransmissions += 1
        for seq, data, fin in self.unacked:
            self._transmit("PA" + ("F" if fin else "") if data else "FA", seq=seq, data=data)
        self._rtx_wait(gen, due, i + 1, give_up)

    def _start_keepalive(self) -> None:
        self._ka_gen += 1
        self.env.process(self._keepalive(self._ka_gen))

    def _keepalive(self, gen: int) -> Generator[simpy.Event, Any, None]:
        assert self.settings.keepalive is not None
        idle, interval, count = self.settings.keepalive
        while gen == self._ka_gen:
            due = self.last_rx + idle
            if self.env.now < due:
                yield self.env.timeout(due - self.env.now)
                continue
            if self.unacked:   # the retransmission timer is in charge
                yield self.env.timeout(interval)
                continue
            for _ in range(count):
                sent = self.env.now
                self._probed = True
                self._transmit("A", seq=0, keepalive=True)
                yield self.env.timeout(interval)
                if gen != self._ka_gen:
                    return
                if self.last_rx >= sent:
                    break
            else:
                self._abort(errno.ETIMEDOUT, Abort.KEEPALIVE, count=count, after=idle, interval=interval)
                return

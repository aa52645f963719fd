"""Model of ssh-idle: one OpenSSH session per variant, over the TCP model, with OpenSSH's
``ServerAliveInterval``/``ServerAliveCountMax`` and ``TCPKeepAlive`` taken from the variant's options
(OpenSSH's defaults otherwise: no ServerAlive, TCPKeepAlive on with the OS keepalive timers)."""

from __future__ import annotations

import errno
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

import simpy

from natsim.endpoint import DEFAULT, Endpoint
from natsim.errors import ConfigError
from natsim.probes.registry import options_of
from natsim.probes.ssh.idle import REPLY_TIMEOUT_WALL
from natsim.probes.ssh.options import IdleVariant, SshIdleOptions
from natsim.probes.ssh.outcome import session_verdict
from natsim.report.schema import ConnectionResult, ProbeResult, Verdict, estimate_timeout
from natsim.sim import explain
from natsim.sim.tcp_endpoint import Socket, TcpError
from natsim.sim.timers import TcpSettings
from natsim.sim.world import World
from natsim.units import TimeScale, parse_duration

Gen = Generator[simpy.Event, Any, None]


def ssh_server_app(sock: Socket) -> Gen:
    """A shell running ``cat``: answers every message (and keepalive requests) at once."""
    while True:
        data = yield sock.read()
        if not data:
            sock.close()
            return
        sock.send(data)


class _Session:
    """The client side of one OpenSSH session: a reader, echo exchanges, ServerAlive checks."""

    def __init__(self, env: simpy.Environment, sock: Socket) -> None:
        self.env = env
        self.sock = sock
        self.last = env.now
        self.exited = env.event()
        self.reason = ""
        self.peer_closed = False    # the server sent FIN
        self.gave_up = False        # ssh quit: ServerAliveCountMax requests went unanswered
        self.heard = 0
        self._pending: simpy.Event | None = None

    def reader(self) -> Gen:
        """Read every server message; note when the server was last heard from."""
        while not self.exited.triggered:
            try:
                data = yield self.sock.read()
            except TcpError:
                return
            if not data:
                self.peer_closed = True
                self.quit("Connection closed by remote host")
                return
            self.last = self.env.now
            self.heard += 1
            if self._pending is not None and not self._pending.triggered and "keepalive" not in data:
                self._pending.succeed()

    def exchange(self, line: str) -> simpy.Event:
        """Send ``line``; the event succeeds when a (non-keepalive) reply arrives."""
        self._pending = self.env.event()
        if self.sock.error is None:
            self.sock.send(line)
        return self._pending

    def server_alive(self, interval: float, count_max: int, server: str) -> Gen:
        """OpenSSH: ``interval`` after the last server message send a request; exit when more than
        ``count_max`` went unanswered in a row."""
        missed, mark, check_at = 0, self.heard, self.last + interval
        while True:
            yield self.env.timeout(max(0.0, check_at - self.env.now))
            if self.exited.triggered or self.sock.error is not None:
                return
            if self.heard != mark:
                missed, mark = 0, self.heard
                if self.last + interval > self.env.now:
                    check_at = self.last + interval
                    continue
            missed += 1
            if missed > count_max:
                self.gave_up = True
                self.quit(f"Timeout, server {server} not responding.")
                return
            self.sock.send("keepalive@openssh.com\n")
            mark, check_at = self.heard, self.env.now + interval

    def exit_line(self) -> str:
        """What ``ssh`` prints when it ends."""
        if self.reason:
            return self.reason
        err = self.sock.error
        if err is None:
            return "exited"
        return "Connection timed out" if err.errno == errno.ETIMEDOUT else "Connection reset by peer"

    def verdict(self) -> Verdict:
        """How the session ended, decided as the lab decides it (:func:`session_verdict`)."""
        err = self.sock.error
        return session_verdict(err.errno if err else None, peer_closed=self.peer_closed,
                               gave_up=self.gave_up)

    def quit(self, reason: str = "") -> None:
        """End the session (ssh exits)."""
        if not self.exited.triggered:
            self.reason = self.reason or reason
            self.exited.succeed()
        self.sock.close()


@dataclass(frozen=True)
class SessionPlan:
    """One variant as the model runs it: idle time, ServerAlive settings (real-world, as the lab's
    ssh holds them: whole lab seconds) and the client socket's timers."""

    variant: IdleVariant
    alive_interval: float | None
    alive_count: int
    settings: TcpSettings

    @classmethod
    def of(cls, variant: IdleVariant, timing: TimeScale, endpoint: Endpoint = DEFAULT) -> SessionPlan:
        """OpenSSH's reading of the variant's options (defaults: no ServerAlive, TCPKeepAlive yes) on a
        client whose kernel settings are ``endpoint`` (TCPKeepAlive uses the kernel's keepalive)."""
        raw = variant.options.get("ServerAliveInterval", "0")
        try:
            interval = parse_duration(raw, what="ServerAliveInterval", allow_zero=True)
            count = int(variant.options.get("ServerAliveCountMax", "3"))
        except (ConfigError, ValueError) as err:
            raise ConfigError(f"variant {variant.name}: {err}") from err
        keepalive = endpoint.keepalive if variant.flag("TCPKeepAlive", True) else None
        settings = TcpSettings.for_lab(timing, keepalive=keepalive, retries2_give_up=endpoint.give_up)
        return cls(variant, timing.whole(interval) if interval else None, count, settings)


class IdleProbe:
    """ssh-idle: one OpenSSH session per variant; a line after the idle time must come back."""

    def __init__(self, world: World, spec: Any) -> None:
        self.world = world
        self.env = world.env
        self.spec = spec
        options = options_of(spec)
        assert isinstance(options, SshIdleOptions)
        self.port = options.port if options.port is not None else 22
        timing = world.timing
        self.plans = [SessionPlan.of(v, timing, world.endpoint(spec.client)) for v in options.parsed()]
        self.reply_timeout = timing.unscaled(REPLY_TIMEOUT_WALL)
        # the lab's sshd runs with TCPKeepAlive no and no ClientAliveInterval (natsim.probes.ssh.sshd)
        world.listen(spec.server, self.port, ssh_server_app,
                     TcpSettings.for_lab(timing, retries2_give_up=world.endpoint(spec.server).give_up))
        self.rows: dict[int, ConnectionResult] = {}

    def start(self) -> None:
        """One process per session, all starting together."""
        for i, plan in enumerate(self.plans):
            self.env.process(self._session(i, plan))
    def _row(self, i: int, idle: float, verdict: Verdict, how: str, detail: str, outcome: str,
             since: float) -> None:
        events = self.world.events(f"{self.spec.name}#{i}", since)
        limits = self.world.limits(self.world.route(self.spec.client, self.spec.server))
        name = self.plans[i].variant.name
        why = explain.connection(f"session {i} ({name})", events, idle, limits, outcome)
        self.rows[i] = ConnectionResult(i, idle, verdict, how, self.env.now - self.spec.start, detail, why,
                                        label=name)

    def _session(self, i: int, plan: SessionPlan) -> Gen:
        idle = plan.variant.idle
        yield self.env.timeout(self.spec.start)
        sock = self.world.socket(self.spec.client, self.spec.server, self.port, f"{self.spec.name}#{i}",
                                 plan.settings)
        since = self.env.now
        session = _Session(self.env, sock)
        try:
            yield sock.connect()
        except TcpError as err:
            self._row(i, idle, Verdict.ERROR, "setup", str(err), "the session never started", since)
            return
        self.env.process(session.reader())
        yield session.exchange("hello\n")
        if plan.alive_interval is not None:
            self.env.process(session.server_alive(plan.alive_interval, plan.alive_count, self.spec.server))
        deadline = self.env.timeout(idle)
        yield deadline | sock.failed | session.exited
        if session.exited.triggered or sock.error is not None:
            line = session.exit_line()
            self._row(i, idle, session.verdict(), "idle", line, f"ssh exited during the idle time: {line}",
                      since)
        else:
            pong = session.exchange("ping\n")
            yield pong | sock.failed | session.exited | self.env.timeout(self.reply_timeout)
            if pong.triggered:
                self._row(i, idle, Verdict.ALIVE, "", "echo came back", "the line came back", since)
            elif session.exited.triggered or sock.error is not None:
                line = session.exit_line()
                self._row(i, idle, session.verdict(), "read", line, f"read: {line}", since)
            else:
                self._row(i, idle, Verdict.DEAD, "read", f"no reply within {self.reply_timeout:.6g} s",
                          "the line never came back", since)
        session.quit()

    def result(self) -> ProbeResult:
        """One row per session."""
        rows = [self.rows[i] for i in sorted(self.rows)]
        return ProbeResult(self.spec.name, self.spec.kind, f"{self.spec.server}:{self.port}",
                           self.spec.client, rows, estimate_timeout(rows),
                           {"variants": [{"name": p.variant.name, "idle": p.variant.idle,
                                          "options": dict(p.variant.options)} for p in self.plans],
                            "reply_timeout": self.reply_timeout})

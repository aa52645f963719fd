"""SSH models: the intercepting proxy, OpenSSH idle sessions, and the four SSH probes.

The proxy (``ssh-proxy``) is modelled per login attempt, not per packet: an attempt to an
intercepted port whose (client, server, port) tuple is not in the bypass set is intercepted; the
proxy then negotiates with the backend as an SSH client would (RFC 4253: the first of its own
key exchanges the server also offers). No common key exchange → FIN to the client (EOF) and the
tuple bypassed for a duration drawn uniformly from ``bypass`` with the scenario's seed. TCP probes
crossing the proxy node see a router. Idle sessions (``ssh-idle``) run over the TCP model with
OpenSSH's ``ServerAliveInterval``/``ServerAliveCountMax`` and ``TCPKeepAlive``.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import simpy

from natsim.middleboxes.ssh_proxy.model import ProxyRouter, negotiate
from natsim.report.schema import ConnectionResult, Estimate, ProbeResult, Verdict, estimate_timeout
from natsim.sim.options import Options
from natsim.sim.probes import ProbeSpecLike
from natsim.sim.tcp import Socket, TcpError
from natsim.sim.timers import KEEPALIVE_INTVL, KEEPALIVE_PROBES, KEEPALIVE_TIME, TcpSettings
from natsim.sim.world import World, summarise

Gen = Generator[simpy.Event, Any, None]

#: Key exchanges of the incident's ``golang.org/x/crypto/ssh`` server (issue 4).
GO_SSH_KEX = ("curve25519-sha256@libssh.org", "ecdh-sha2-nistp256", "ecdh-sha2-nistp384",
              "ecdh-sha2-nistp521", "diffie-hellman-group14-sha1", "diffie-hellman-group1-sha1")
#: OpenSSH 9.2's default server key exchanges (Debian 12).
SSHD_KEX = ("sntrup761x25519-sha512@openssh.com", "curve25519-sha256", "curve25519-sha256@libssh.org",
            "ecdh-sha2-nistp256", "ecdh-sha2-nistp384", "ecdh-sha2-nistp521",
            "diffie-hellman-group-exchange-sha256", "diffie-hellman-group16-sha512",
            "diffie-hellman-group18-sha512", "diffie-hellman-group14-sha256")
BACKENDS = {"go-ssh": (GO_SSH_KEX, "SSH-2.0-Go", 2222),
            "sshd": (SSHD_KEX, "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3", 22)}


class SshLoginProbe:
    """Shared by the login probes: the backend, the proxy on the path, one attempt."""

    def __init__(self, world: World, spec: ProbeSpecLike) -> None:
        self.world = world
        self.env = world.env
        self.spec = spec
        self.opts = Options(spec.name, spec.options or {})
        self.backend = self.opts.choice("backend", "go-ssh", tuple(BACKENDS))
        kex, self.backend_banner, default_port = BACKENDS[self.backend]
        self.backend_kex = self.opts.strings("server_kex", kex)
        self.port = self.opts.integer("port", default_port, maximum=65535)
        self.client_kind = self.opts.choice("client_impl", "openssh", ("openssh", "go"))
        route = world.route(spec.client, spec.server)
        proxies = [m for m in route.middleboxes if isinstance(m, ProxyRouter)]
        self.proxy = proxies[0] if proxies else None
        self.rows: list[ConnectionResult] = []
        self.extra: dict[str, Any] = {"backend": self.backend}
        self.complete = True

    def login(self, idle: float) -> tuple[bool, ConnectionResult]:
        """One attempt now; returns (intercepted-and-cut, its row)."""
        now = self.env.now
        if self.proxy is None:
            outcome, banner, why = "direct", "", "no ssh-proxy on the path"
        else:
            outcome, banner, why = self.proxy.attempt(self.spec.client, self.spec.server, self.port,
                                                      self.backend_kex, now)
        index = len(self.rows)
        if outcome == "cut":
            detail = ("ssh: handshake failed: EOF" if self.client_kind == "go" else
                      f"Connection closed by {self.spec.server} port {self.port}")
            row = ConnectionResult(index, idle, Verdict.EOF, "handshake", now - self.spec.start, detail,
                                   f"attempt {index}: {why}")
        else:
            client_kex = SSHD_KEX if self.client_kind == "openssh" else GO_SSH_KEX
            chosen = negotiate(client_kex, self.backend_kex) if outcome != "intercepted" else None
            detail = banner or self.backend_banner
            text = why
            if chosen:
                text += f"; the client talks to the backend directly ({chosen})"
            row = ConnectionResult(index, idle, Verdict.OK, "", now - self.spec.start, detail,
                                   f"attempt {index}: {text}")
        self.rows.append(row)
        return outcome == "cut", row

    def start(self) -> None:
        """Start the probe's process."""
        self.env.process(self.run())

    def run(self) -> Gen:
        """The probe's schedule (each login probe defines its own)."""
        raise NotImplementedError(type(self).__name__)

    def result(self) -> ProbeResult:
        """The probe's result in the shared schema."""
        return ProbeResult(self.spec.name, self.spec.kind, f"{self.spec.server}:{self.port}",
                           self.spec.client, self.rows, self.estimate(), self.extra, self.complete)

    def estimate(self) -> Estimate | None:
        """No estimate by default."""
        return None


class FirstConnectProbe(SshLoginProbe):
    """ssh-first-connect: ``attempts`` logins, ``interval`` apart."""

    def run(self) -> Gen:
        """Attempts at start, start + interval, ..."""
        attempts = self.opts.integer("attempts", 3, maximum=10_000)
        interval = self.opts.number("interval", 0.0, strict=False) or 0.0
        yield self.env.timeout(self.spec.start)
        for k in range(attempts):
            if k:
                yield self.env.timeout(interval)
            self.login(interval if k else 0.0)
        self.extra["proxy"] = self.proxy.config.banner if self.proxy else None


class KexProbe(SshLoginProbe):
    """ssh-kex: the banner and key-exchange list the client is shown (no login)."""

    def run(self) -> Gen:
        """One look at the server (does not change the proxy's bypass set)."""
        yield self.env.timeout(self.spec.start)
        intercepted = False
        if self.proxy is not None:
            cfg = self.proxy.config
            key = (self.spec.client, self.spec.server, self.port)
            bypassed = self.env.now < self.proxy.bypass.get(key, float("-inf"))
            intercepted = not bypassed and (not cfg.ports or self.port in cfg.ports)
        banner = self.proxy.config.banner if intercepted and self.proxy else self.backend_banner
        kex = self.proxy.config.kex if intercepted and self.proxy else self.backend_kex
        why = (f"intercepted by {self.proxy.name}: its banner and offer (assumed: the proxy shows "
               "clients the list it offers backends)" if intercepted and self.proxy else
               "not intercepted: the backend's own banner and list")
        self.rows.append(ConnectionResult(0, 0.0, Verdict.OK, "", self.env.now - self.spec.start, banner,
                                          f"attempt 0: {why}"))
        self.extra.update({"banner": banner, "kex": list(kex), "intercepted": intercepted})


class BypassTimerProbe(SshLoginProbe):
    """ssh-bypass-timer: growing waits from the latest interception, then bisection (as the
    incident's script and ``natsim probe ssh-bypass-timer`` do)."""

    def run(self) -> Gen:
        """Measure the bracket [longest bypassed offset, shortest intercepted offset]."""
        step = self.opts.seconds("wait_step", self.opts.seconds("step", 600.0))
        resolution = self.opts.seconds("resolution", 30.0)
        max_wait = self.opts.seconds("max_wait", 4 * 3600.0)
        yield self.env.timeout(self.spec.start)
        cut, _ = self.login(0.0)
        waited = 0.0
        while not cut:
            waited += step
            if waited > max_wait:
                self.complete = False
                return
            yield self.env.timeout(step)
            cut, _ = self.login(0.0)
        clock = self.env.now
        lower, upper, offset = 0.0, None, step
        while upper is None and offset <= max_wait:
            yield self.env.timeout(clock + offset - self.env.now)
            cut, _ = self.login(offset)
            if cut:
                upper, clock = offset, self.env.now
            else:
                lower = max(lower, offset)
                offset += step
        while upper is not None and upper - lower > resolution:
            mid = (lower + upper) / 2
            yield self.env.timeout(clock + mid - self.env.now)
            cut, _ = self.login(mid)
            if cut:
                upper, clock = min(upper, mid), self.env.now
            else:
                lower = max(lower, mid)
        self._bracket = (lower, upper)
        self.complete = upper is not None
        self.extra.update({"step": step, "resolution": resolution, "bracket": [lower, upper]})

    def estimate(self) -> Estimate | None:
        """The bracket of the bypass duration."""
        bracket = getattr(self, "_bracket", None)
        return Estimate(*bracket) if bracket else None


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
        return "Connection timed out" if err.errno == "ETIMEDOUT" else "Connection reset by peer"

    def quit(self, reason: str = "") -> None:
        """End the session (ssh exits)."""
        if not self.exited.triggered:
            self.reason = self.reason or reason
            self.exited.succeed()
        self.sock.close()


class IdleProbe:
    """ssh-idle: one OpenSSH session per idle duration; a line after the idle time must come back."""

    def __init__(self, world: World, spec: ProbeSpecLike) -> None:
        self.world = world
        self.env = world.env
        self.spec = spec
        opts = Options(spec.name, spec.options or {})
        self.idles = opts.durations("idle", [3660.0])
        self.alive_interval = opts.number("server_alive_interval", None)
        self.alive_count = opts.integer("server_alive_count_max", 3, minimum=0, maximum=1000)
        self.port = opts.integer("port", 22, maximum=65535)
        timing = world.timing
        self.reply_timeout = opts.seconds("reply_timeout", timing.unscaled(5.0))
        keepalive = (KEEPALIVE_TIME, KEEPALIVE_INTVL, KEEPALIVE_PROBES)
        self.client_settings = TcpSettings.for_lab(
            timing, keepalive=keepalive if opts.flag("tcp_keepalive", True) else None)
        server_ka = opts.flag("server_tcp_keepalive", False)
        world.listen(spec.server, self.port, ssh_server_app,
                     TcpSettings.for_lab(timing, keepalive=keepalive if server_ka else None))
        if self.alive_interval is not None:
            self.alive_interval = timing.whole(self.alive_interval)
        self.rows: dict[int, ConnectionResult] = {}

    def start(self) -> None:
        """One process per session, all starting together."""
        for i, idle in enumerate(self.idles):
            self.env.process(self._session(i, idle))

    def _row(self, i: int, idle: float, verdict: Verdict, how: str, detail: str, outcome: str,
             since: float) -> None:
        notes = summarise(self.world.notes(f"{self.spec.name}#{i}", since))
        if not notes:
            limits = self.world.limits(self.world.route(self.spec.client, self.spec.server))
            notes = f"idle {idle:.6g} s, nothing dropped (" + (", ".join(
                f"{n} established timeout {t:.6g} s" for n, t in limits) or "no stateful middlebox") + ")"
        self.rows[i] = ConnectionResult(i, idle, verdict, how, self.env.now - self.spec.start, detail,
                                        f"session {i}: {notes}; {outcome}")

    def _session(self, i: int, idle: float) -> Gen:
        yield self.env.timeout(self.spec.start)
        sock = self.world.socket(self.spec.client, self.spec.server, self.port, f"{self.spec.name}#{i}",
                                 self.client_settings)
        since = self.env.now
        session = _Session(self.env, sock)
        try:
            yield sock.connect()
        except TcpError as err:
            self._row(i, idle, Verdict.ERROR, "setup", str(err), "the session never started", since)
            return
        self.env.process(session.reader())
        yield session.exchange("hello\n")
        if self.alive_interval is not None:
            self.env.process(session.server_alive(self.alive_interval, self.alive_count, self.spec.server))
        deadline = self.env.timeout(idle)
        yield deadline | sock.failed | session.exited
        if session.exited.triggered or sock.error is not None:
            line = session.exit_line()
            verdict = Verdict.RESET if sock.error is not None and sock.error.errno != "ETIMEDOUT" \
                else Verdict.DEAD
            self._row(i, idle, verdict, "idle", line, f"ssh exited during the idle time: {line}", since)
        else:
            pong = session.exchange("ping\n")
            yield pong | sock.failed | session.exited | self.env.timeout(self.reply_timeout)
            if pong.triggered:
                self._row(i, idle, Verdict.ALIVE, "", "echo came back", "the line came back", since)
            elif sock.error is not None and sock.error.errno != "ETIMEDOUT":
                self._row(i, idle, Verdict.RESET, "read", session.exit_line(), f"read: {sock.error}", since)
            else:
                self._row(i, idle, Verdict.DEAD, "read", f"no reply within {self.reply_timeout:.6g} s",
                          "the line never came back", since)
        session.quit()

    def result(self) -> ProbeResult:
        """One row per session."""
        rows = [self.rows[i] for i in sorted(self.rows)]
        return ProbeResult(self.spec.name, self.spec.kind, f"{self.spec.server}:{self.port}",
                           self.spec.client, rows, estimate_timeout(rows),
                           {"server_alive_interval": self.alive_interval,
                            "reply_timeout": self.reply_timeout})


PROBES: dict[str, Any] = {
    "ssh-idle": IdleProbe,
    "ssh-first-connect": FirstConnectProbe,
    "ssh-bypass-timer": BypassTimerProbe,
    "ssh-kex": KexProbe,
}

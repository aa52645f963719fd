"""Models of the SSH login probes (ssh-first-connect, ssh-kex, ssh-bypass-timer), per attempt.

An attempt crosses the first model on its path that takes part in SSH logins (one that declares
:class:`~natsim.middleboxes.abilities.SshInterceptor`, such as ``ssh-proxy``'s), which intercepts,
bypasses or lets it through; the backend's key exchanges and banner come from
:mod:`natsim.probes.ssh.backends`, the probe's options from its declared options class.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import simpy

from natsim.middleboxes.abilities import SshInterceptor, negotiate
from natsim.probes.registry import options_of
from natsim.probes.ssh.backends import BACKENDS, SSHD_KEX
from natsim.probes.ssh.options import (
    SshBypassTimerOptions,
    SshFirstConnectOptions,
    SshServerOptions,
)
from natsim.probes.ssh.wire import GO_SERVER_KEX
from natsim.report.schema import ConnectionResult, Estimate, ProbeResult, Verdict
from natsim.sim import explain
from natsim.sim.world import World

Gen = Generator[simpy.Event, Any, None]
#: The options of the probes that log in (and so choose a client).
LoginOptions = SshFirstConnectOptions | SshBypassTimerOptions


class SshLoginProbe:
    """Shared by the login probes: the backend, the proxy on the path, one attempt."""

    def __init__(self, world: World, spec: Any) -> None:
        self.world = world
        self.env = world.env
        self.spec = spec
        options = options_of(spec)
        assert isinstance(options, SshServerOptions)
        self.options = options
        self.backend = options.backend
        self.backend_banner = BACKENDS[self.backend].banner
        self.backend_kex = BACKENDS[self.backend].kex
        self.port = options.server_port()
        self.client_kind = options.client_impl if isinstance(options, LoginOptions) else "go"
        route = world.route(spec.client, spec.server)
        proxies = [m for m in route.middleboxes if isinstance(m, SshInterceptor)]
        self.proxy: SshInterceptor | None = proxies[0] if proxies else None
        self.rows: list[ConnectionResult] = []
        self.extra: dict[str, Any] = {"backend": self.backend}
        self.complete = True

    def login(self, idle: float) -> tuple[bool, ConnectionResult]:
        """One attempt now; returns (intercepted-and-cut, its row)."""
        now = self.env.now
        index = len(self.rows)
        if self.proxy is None:
            outcome, banner, why = "direct", "", "no ssh-proxy on the path"
        else:
            seen = self.proxy.attempt(self.spec.client, self.spec.server, self.port, self.backend_kex, now,
                                      f"{self.spec.name}#{index}")
            self.world.trace.record(seen.event)
            outcome, banner, why = seen.outcome, seen.banner, explain.login(seen.event)
        if outcome == "cut":
            detail = ("ssh: handshake failed: EOF" if self.client_kind == "go" else
                      f"Connection closed by {self.spec.server} port {self.port}")
            row = ConnectionResult(index, idle, Verdict.EOF, "handshake", now - self.spec.start, detail,
                                   f"attempt {index}: {why}")
        else:
            client_kex = SSHD_KEX if self.client_kind == "openssh" else GO_SERVER_KEX
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
        options = self.options
        assert isinstance(options, SshFirstConnectOptions)
        attempts, interval = options.attempts, options.interval
        yield self.env.timeout(self.spec.start)
        for k in range(attempts):
            if k:
                yield self.env.timeout(interval)
            self.login(interval if k else 0.0)
        self.extra["proxy"] = self.proxy.identity if self.proxy else None


class KexProbe(SshLoginProbe):
    """ssh-kex: the banner and key-exchange list the client is shown (no login)."""

    def run(self) -> Gen:
        """One look at the server (does not change the proxy's bypass set)."""
        yield self.env.timeout(self.spec.start)
        shown = None if self.proxy is None else \
            self.proxy.shown(self.spec.client, self.spec.server, self.port, self.env.now)
        intercepted = shown is not None
        banner, kex = shown if shown is not None else (self.backend_banner, self.backend_kex)
        why = (f"intercepted by {self.proxy.name}: its banner and offer (assumed: the proxy shows clients "
               "the list it offers backends)" if shown is not None and self.proxy else
               "not intercepted: the backend's own banner and list")
        self.rows.append(ConnectionResult(0, 0.0, Verdict.OK, "", self.env.now - self.spec.start, banner,
                                          f"attempt 0: {why}"))
        self.extra.update({"banner": banner, "kex": list(kex), "intercepted": intercepted})


class BypassTimerProbe(SshLoginProbe):
    """ssh-bypass-timer: growing waits from the latest interception, then bisection (as the
    incident's script and ``natsim probe ssh-bypass-timer`` do)."""

    _bracket: tuple[float, float | None] | None = None   # (longest bypassed, shortest cut), once measured

    def run(self) -> Gen:
        """Measure the bracket [longest bypassed offset, shortest intercepted offset]."""
        options = self.options
        assert isinstance(options, SshBypassTimerOptions)
        step, resolution, max_wait = options.step, options.resolution, options.max_wait
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
        return Estimate(*self._bracket) if self._bracket else None

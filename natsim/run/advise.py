"""``natsim advise``: the largest keepalive that keeps every middlebox on a scenario's path from
expiring the flow, as the exact configuration line of an application, and the middlebox that binds.

The model reads the path (the scenario's first probe, client to server) for a real network: each
stateful middlebox's established idle timeout (:meth:`natsim.sim.world.World.limits`). The smallest
binds. An application whose keepalive is its own timer (OpenSSH's ServerAliveInterval, gRPC's HTTP/2
PING) fires on time, so its largest safe value is the last whole second before the timeout. One that
asks the kernel for TCP keepalive (Linux's sysctl, Redis, PostgreSQL) is at the mercy of the kernel's
timer wheel, which fires a long timer up to 1/8 late (:func:`natsim.sim.timers.wheel_late`): its value
plus that lateness must stay below the timeout.

The advice is then checked by the model, and with ``--verify`` by the lab, on one scenario
(:func:`check_scenario`): a keepalive after the advised idle (as the lab can hold it: whole lab seconds)
must be answered, one a lab second past the binding timeout must fail.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

from natsim.errors import ConfigError
from natsim.fields import closest
from natsim.probes.tcp.options import TcpKeepaliveOptions
from natsim.report.schema import RunResult, Verdict
from natsim.run.predict import build
from natsim.sim.timers import wheel_late
from natsim.units import TimeScale, format_duration


@dataclass(frozen=True)
class App:
    """An application's keepalive setting: its configuration ``line`` (``{value}``: whole seconds,
    ``{ms}``: milliseconds), where it goes, and whether the kernel's timer wheel runs it."""

    name: str
    line: str
    where: str
    kernel_timer: bool


#: The applications ``--app`` knows and where each one's keepalive setting goes.
APPS = {app.name: app for app in (
    App("linux-keepalive", "net.ipv4.tcp_keepalive_time = {value}",
        "/etc/sysctl.d/ on the client (the application must set SO_KEEPALIVE; Linux's default is 7200)",
        kernel_timer=True),
    App("openssh", "ServerAliveInterval {value}", "~/.ssh/config, under the server's Host entry",
        kernel_timer=False),
    App("redis", "tcp-keepalive {value}", "redis.conf (Redis's default is 300)", kernel_timer=True),
    App("postgres", "keepalives_idle={value}",
        "the libpq connection string (or tcp_keepalives_idle in postgresql.conf on the server)",
        kernel_timer=True),
    App("grpc", "GRPC_ARG_KEEPALIVE_TIME_MS = {ms}", "the client channel's arguments (off by default)",
        kernel_timer=False),
    App("wireguard", "PersistentKeepalive = {value}", "the peer's [Peer] section", kernel_timer=False),
)}
#: Applications whose keepalive keeps a UDP mapping, which natsim does not model yet.
UDP_APPS = ("wireguard",)


@dataclass(frozen=True)
class Advice:
    """What ``natsim advise`` found for one scenario and application."""

    scenario: str
    client: str
    server: str
    limits: tuple[tuple[str, float], ...]   # (node, established timeout) along the path
    binding: str
    timeout: float
    app: App
    value: int                              # the largest safe setting, whole seconds

    @property
    def line(self) -> str:
        """The configuration line."""
        return self.app.line.format(value=self.value, ms=self.value * 1000)


def app(name: str) -> App:
    """The application called ``name``; :class:`ConfigError` when natsim does not know it or cannot
    model its keepalive."""
    if name not in APPS:
        raise ConfigError(f"--app: unknown application '{name}'{closest(name, sorted(APPS))}; "
                          f"known: {', '.join(sorted(APPS))}")
    if name in UDP_APPS:
        raise ConfigError(f"--app {name}: its keepalive keeps a UDP mapping; natsim models TCP flows "
                          "only (UDP timers are not modelled yet)")
    return APPS[name]


def largest_safe(timeout: float, kernel_timer: bool) -> int:
    """The largest whole-second keepalive that fires before ``timeout`` (real-world seconds), allowing
    for the timer wheel's lateness when the kernel runs the timer."""
    value = math.ceil(timeout) - 1
    real = TimeScale(1.0)
    while kernel_timer and value > 0 and value + wheel_late(real, value) >= timeout:
        value -= 1
    if value < 1:
        raise ConfigError(f"no keepalive of a whole second or more fires before {format_duration(timeout)}")
    return value


def advise(scenario: Any, app_name: str = "linux-keepalive") -> Advice:
    """The advice for the path of ``scenario``'s first probe."""
    chosen = app(app_name)
    if not scenario.probes:
        raise ConfigError("advise: the scenario has no probe, so no path")
    first = scenario.probes[0]
    world, _ = build(scenario, as_lab=False)
    limits = tuple(world.limits(world.route(first.client, first.server)))
    if not limits:
        raise ConfigError(f"advise: no stateful middlebox between {first.client} and {first.server}: "
                          "nothing expires the flow")
    binding, timeout = min(limits, key=lambda item: item[1])
    return Advice(scenario.name, first.client, first.server, limits, binding, timeout, chosen,
                  largest_safe(timeout, chosen.kernel_timer))


def check_scenario(scenario: Any, advice: Advice) -> Any:
    """``scenario`` with two tcp-keepalive probes on the advised path and nothing else: ``advised`` (a
    keepalive after the advised value, floored to whole lab seconds) expects alive, ``above`` (a lab second
    past the binding timeout) expects a failure (checked by :func:`checked`)."""
    factor = scenario.time_scale.factor
    advised = math.floor(advice.value / factor) * factor
    if advised <= 0:
        raise ConfigError(f"advise --verify: {advice.value} s is below one lab second at time scale "
                          f"{factor:g}; verify at a smaller --time-scale")
    above = (math.ceil(advice.timeout / factor) + 1) * factor
    template = next(p for p in scenario.probes)
    probes = tuple(dataclasses.replace(template, name=name, kind=TcpKeepaliveOptions.kind, start=0.0,
                                       options=TcpKeepaliveOptions(connections=1, first=idle, step=idle))
                   for name, idle in (("advised", advised), ("above", above)))
    return dataclasses.replace(scenario, probes=probes, expect={"advised": {"verdicts": (Verdict.ALIVE,)}})


def checked(result: RunResult) -> list[str]:
    """Problems with a run of :func:`check_scenario`: empty when the advised keepalive was answered and
    the one past the binding timeout failed."""
    problems = []
    verdicts = {p.name: [c.verdict for c in p.connections] for p in result.probes}
    if verdicts.get("advised") != [Verdict.ALIVE]:
        problems.append(f"the advised keepalive was not answered: {verdicts.get('advised')}")
    above = verdicts.get("above") or [Verdict.ALIVE]
    if above[0] in (Verdict.ALIVE, Verdict.ERROR, Verdict.SKIPPED):
        problems.append(f"a keepalive past the binding timeout did not fail: {above[0]}")
    return problems


def describe(advice: Advice) -> list[str]:
    """The advice as lines of text."""
    path = ", ".join(f"{node} {format_duration(t)}" for node, t in advice.limits)
    return [f"advice for {advice.scenario} ({advice.client} -> {advice.server}; real-world time)",
            f"  stateful middleboxes on the path (established idle timeout): {path}",
            f"  binding: {advice.binding} at {format_duration(advice.timeout)}",
            f"  {advice.app.name}: {advice.line}",
            f"    where: {advice.app.where}",
            "    " + ("the kernel's timer wheel may fire it up to 1/8 late: allowed for"
                      if advice.app.kernel_timer else "the application's own timer fires on time")]


__all__ = ["APPS", "Advice", "App", "advise", "app", "check_scenario", "checked", "describe",
           "largest_safe"]

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
import itertools
import math
from dataclasses import dataclass
from typing import Any

from natsim.errors import ConfigError
from natsim.fields import closest
from natsim.middleboxes.nat.behaviour import NatBehaviour
from natsim.probes.tcp.options import TcpKeepaliveOptions
from natsim.probes.udp.options import WireguardOptions
from natsim.report.schema import RunResult, Verdict
from natsim.run.predict import build, predict
from natsim.sim.segment import TCP, UDP
from natsim.sim.timers import wheel_late
from natsim.units import TimeScale, format_duration


@dataclass(frozen=True)
class App:
    """An application's keepalive setting: its configuration ``line`` (``{value}``: whole seconds,
    ``{ms}``: milliseconds), where it goes, whether the kernel's timer wheel runs it, and the protocol
    of the flow it keeps (``udp``: a mapping the middleboxes' UDP timers expire)."""

    name: str
    line: str
    where: str
    kernel_timer: bool
    protocol: str = TCP


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
    App("wireguard", "PersistentKeepalive = {value}",
        "the [Peer] section of the server in the client's WireGuard configuration (off by default)",
        kernel_timer=False, protocol=UDP),
)}


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
    route = world.route(first.client, first.server)
    limits = tuple(world.limits(route)) if chosen.protocol == TCP else udp_limits(scenario, world, route)
    if not limits:
        raise ConfigError(f"advise: no middlebox between {first.client} and {first.server} tracks "
                          f"{chosen.protocol.upper()} flows: nothing expires the flow")
    timeout = min(t for _, t in limits)
    binding = ", ".join(node for node, t in limits if t == timeout)
    return Advice(scenario.name, first.client, first.server, limits, binding, timeout, chosen,
                  largest_safe(timeout, chosen.kernel_timer))


def udp_limits(scenario: Any, world: Any, route: Any) -> tuple[tuple[str, float], ...]:
    """(node, UDP timeout) of each middlebox on ``route`` that tracks UDP flows: the shorter of its
    unreplied and stream timers. A tunnel's flow has seen a reply (its handshake), but the kernel gives
    a replied flow the stream timer only 2 s after its first datagram, so the handshake's last packet
    and the keepalive right after it still refresh with the unreplied one: the first keepalive must
    come before that expires, every later one before the stream timer does. A NAT that refreshes a
    mapping on inbound packets only is refused: no keepalive from the client keeps it."""
    for model in route.middleboxes:
        config = scenario.middleboxes.get(model.name)
        if isinstance(config, NatBehaviour) and not config.refresh.outbound:
            raise ConfigError(f"advise: {model.name} refreshes a mapping on inbound packets only "
                              f"(refresh: {config.refresh.value}): no keepalive from the inside keeps it; "
                              "the peer outside must send")
    return tuple((node, min(unreplied, stream)) for node, unreplied, stream in world.udp_limits(route))


def check_scenario(scenario: Any, advice: Advice) -> Any:
    """``scenario`` with two probes on the advised path and nothing else (checked by :func:`checked`):
    ``advised`` (the advised value, floored to whole lab seconds) expects alive, ``above`` (just past the
    binding timeout) a failure. TCP: a keepalive after the value; UDP: :func:`tunnel_check`."""
    factor = scenario.time_scale.factor
    advised = math.floor(advice.value / factor) * factor
    if advised <= 0:
        raise ConfigError(f"advise --verify: {advice.value} s is below one lab second at time scale "
                          f"{factor:g}; verify at a smaller --time-scale")
    if advice.app.protocol == UDP:
        return tunnel_check(scenario, advice, advised)
    above = (math.ceil(advice.timeout / factor) + 1) * factor
    template = next(p for p in scenario.probes)
    probes = tuple(dataclasses.replace(template, name=name, kind=TcpKeepaliveOptions.kind, start=0.0,
                                       options=TcpKeepaliveOptions(connections=1, first=idle, step=idle))
                   for name, idle in (("advised", advised), ("above", above)))
    return dataclasses.replace(scenario, probes=probes, expect={"advised": {"verdicts": (Verdict.ALIVE,)}})


def tunnel_check(scenario: Any, advice: Advice, advised: float) -> Any:
    """Two WireGuard tunnels (real ones in the lab) through which the server answers a request after
    the same idle: ``advised`` with PersistentKeepalive the advised value, ``above`` with two lab seconds
    past the binding timeout. A keepalive re-opens an expired mapping, so ``above`` loses the answer
    only when it falls between the mapping's expiry and the next keepalive: the model picks that idle
    (whole lab seconds, the middle of the longest such run) and both runs use it."""
    factor = scenario.time_scale.factor
    timeout = math.ceil(advice.timeout / factor)            # lab seconds
    above = (timeout + 2) * factor
    template = scenario.probes[0]

    def at(idle: float) -> Any:
        probes = tuple(dataclasses.replace(
            template, name=name, kind=WireguardOptions.kind, start=0.0,
            options=WireguardOptions(connections=1, first=idle, step=idle, persistent_keepalive=keepalive))
            for name, keepalive in (("advised", advised), ("above", above)))
        expect = {"advised": {"verdicts": (Verdict.ALIVE,)}}
        return dataclasses.replace(scenario, probes=probes, expect=expect)

    # WireGuard's passive keepalive (10 wall s after data) and one keepalive cycle bound the search;
    # the idle is chosen by ``above`` alone, so ``advised`` is tested, not chosen to pass
    fits = [lab for lab in range(timeout + 1, timeout + 2 * (timeout + 2) + 12)
            if _fails(predict(at(lab * factor)), "above")]
    if not fits:
        raise ConfigError(f"advise --verify: the model finds no idle at which a PersistentKeepalive of "
                          f"{format_duration(above)} loses the answer")
    # runs of consecutive seconds: within one, a second minus its place in ``fits`` is constant
    runs = [[lab for _, lab in run] for _, run in itertools.groupby(enumerate(fits), lambda p: p[1] - p[0])]
    longest = max(runs, key=len)
    return at(longest[len(longest) // 2] * factor)


def check_values(check: Any) -> tuple[float, float]:
    """(advised, above) of a :func:`check_scenario`: the keepalive each of its probes tests."""
    return tuple(p.options.persistent_keepalive if isinstance(p.options, WireguardOptions)   # type: ignore[return-value]
                 else p.options.first for p in check.probes)


def check_text(advice: Advice, check: Any) -> str:
    """What a passed :func:`check_scenario` showed, in words."""
    advised, above = (format_duration(value) for value in check_values(check))
    past = f"past {advice.binding}'s timeout"
    if advice.app.protocol == UDP:
        idle = format_duration(check.probes[0].options.first)
        return (f"an answer after {idle} idle comes through a tunnel with PersistentKeepalive {advised}, "
                f"not through one with {above} ({past})")
    return f"a keepalive after {advised} is answered, one after {above} ({past}) fails"


def _fails(result: RunResult, probe: str) -> bool:
    """Whether ``probe``'s first connection in ``result`` failed (an error or a skip is no failure)."""
    verdicts = [c.verdict for p in result.probes if p.name == probe for c in p.connections] or [Verdict.ALIVE]
    return verdicts[0] not in (Verdict.ALIVE, Verdict.ERROR, Verdict.SKIPPED)


def checked(result: RunResult) -> list[str]:
    """Problems with a run of :func:`check_scenario`: empty when the advised keepalive was answered and
    the one past the binding timeout failed."""
    problems = []
    verdicts = {p.name: [c.verdict for c in p.connections] for p in result.probes}
    if verdicts.get("advised") != [Verdict.ALIVE]:
        problems.append(f"the advised keepalive was not answered: {verdicts.get('advised')}")
    if not _fails(result, "above"):
        above = verdicts.get("above") or [Verdict.ALIVE]
        problems.append(f"a keepalive past the binding timeout did not fail: {above[0]}")
    return problems


def describe(advice: Advice) -> list[str]:
    """The advice as lines of text."""
    path = ", ".join(f"{node} {format_duration(t)}" for node, t in advice.limits)
    what = "established idle timeout" if advice.app.protocol == TCP else \
        "UDP timeout: the shorter of unreplied and stream"
    return [f"advice for {advice.scenario} ({advice.client} -> {advice.server}; real-world time)",
            f"  stateful middleboxes on the path ({what}): {path}",
            f"  binding: {advice.binding} at {format_duration(advice.timeout)}",
            f"  {advice.app.name}: {advice.line}",
            f"    where: {advice.app.where}",
            "    " + ("the kernel's timer wheel may fire it up to 1/8 late: allowed for"
                      if advice.app.kernel_timer else "the application's own timer fires on time")]


__all__ = ["APPS", "Advice", "App", "advise", "app", "check_scenario", "check_text", "check_values",
           "checked", "describe", "largest_safe", "tunnel_check", "udp_limits"]

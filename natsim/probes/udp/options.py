"""Options of the UDP idle probes (pure: no sockets, no clock).

:class:`UdpSendOptions`, :class:`UdpRecvOptions` and :class:`UdpKeepaliveOptions` are the only
declaration of the probes' options; their ladder (``connections``, ``first``, ``step``) is the one every
idle probe shares (:class:`~natsim.probes.idle_ladder.LadderOptions`). A UDP "connection" is a flow: its own
client socket, so its own 5-tuple and its own mapping in every middlebox on the way.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

from natsim.errors import ConfigError, ProbeError
from natsim.fields import duration_field, plain_field
from natsim.probes.idle_ladder import GRACE_WALL, LadderOptions, check_ladder
from natsim.probes.options import option_fields
from natsim.probes.udp.datagram import delay_problem

#: Wall seconds a flow's first exchange may take (the request is re-sent every :data:`RESEND_WALL`).
SETUP_TIMEOUT_WALL = 10.0
#: WireGuard's suggested PersistentKeepalive (field catalogue), udp-keepalive's default interval.
KEEPALIVE_INTERVAL = 25.0


@dataclass(frozen=True)
class UdpSendOptions(LadderOptions):
    """Options of udp-send (the kind, its summary and service: :mod:`natsim.probes.udp.kinds`)."""

    kind: ClassVar[str] = "udp-send"

    port: int | None = plain_field(None, "service port (default: the kind's service)", "int",
                                   optional=True, minimum=1, maximum=65535)


@dataclass(frozen=True)
class UdpRecvOptions(UdpSendOptions):
    """Options of udp-recv: those of udp-send; every idle time is a delay the server takes."""

    kind: ClassVar[str] = "udp-recv"

    def validate(self) -> None:
        """Every idle time must be a delay the service takes (the tool checks the same)."""
        problem = delay_problems(self)
        if problem is not None:
            raise ConfigError(problem)


@dataclass(frozen=True)
class UdpKeepaliveOptions(UdpRecvOptions):
    """Options of udp-keepalive: those of udp-recv, and how often the client refreshes its flow."""

    kind: ClassVar[str] = "udp-keepalive"

    interval: float = duration_field(KEEPALIVE_INTERVAL, "the client sends a keepalive datagram this "
                                     "often while the server is silent")


@dataclass(frozen=True, kw_only=True)
class UdpProbeOptions(UdpKeepaliveOptions):
    """What one run of a UDP probe tool does: the kind's options plus where and how it runs (``port``:
    the service's port, which the tool fills in from its kind). Durations are real-world seconds
    unless named ``*_wall``."""

    server: str
    time_scale: float = 1.0
    grace_wall: float = GRACE_WALL              # wait past a deadline before calling silence dead
    setup_timeout_wall: float = SETUP_TIMEOUT_WALL
    name: str | None = None
    node: str | None = None

    def __post_init__(self) -> None:
        check_ladder(self, self.time_scale)
        if self.port is not None and not 1 <= self.port <= 65535:
            raise ProbeError(f"--port must be 1..65535, got {self.port}")
        if self.interval <= 0 or not math.isfinite(self.interval):
            raise ProbeError(f"--interval must be a positive duration, got {self.interval}")
        if self.grace_wall < 0 or self.setup_timeout_wall <= 0:
            raise ProbeError("grace must be >= 0 and the set-up timeout positive")


def delay_problems(options: UdpSendOptions) -> str | None:
    """Why the UDP service cannot answer a recv ladder with ``options`` after each idle time (None: it
    can); the wire's own check (:func:`~natsim.probes.udp.datagram.delay_problem`) per connection."""
    for i, idle in enumerate(options.idles()):
        problem = delay_problem(idle)
        if problem is not None:
            return f"connection {i}: {problem}; use a whole-second step and first"
    return None


def delays(options: UdpSendOptions) -> list[int]:
    """The whole seconds each connection asks the server to wait."""
    problem = delay_problems(options)
    if problem is not None:
        raise ProbeError(problem)
    return [int(idle) for idle in options.idles()]


def run_options(options: UdpSendOptions, **run: Any) -> UdpProbeOptions:
    """A tool run's options: the probe's declared options plus where and how it runs (``run`` wins)."""
    values = {f.name: getattr(options, f.name) for f in option_fields(type(options))}
    return UdpProbeOptions(**{**values, **run})


#: Most WireGuard tunnels one probe sets up (a wireguard-go process each on the client).
MAX_TUNNELS = 32   # natsim.probes.udp.tunnels.SLOT_TUNNELS


@dataclass(frozen=True)
class WireguardOptions(UdpRecvOptions):
    """Options of wireguard: one real WireGuard tunnel per connection, through which a udp-recv flow
    asks for its answer after the idle time; the client peer's PersistentKeepalive (0: off)."""

    kind: ClassVar[str] = "wireguard"

    connections: int = plain_field(6, "tunnels, one per idle time (a wireguard-go process each)", "int",
                                   minimum=1, maximum=MAX_TUNNELS)
    persistent_keepalive: float = duration_field(0.0, "PersistentKeepalive of the client's peer (0: off)",
                                                 allow_zero=True)

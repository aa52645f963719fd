"""Options and schedule of the TCP idle-timeout probes (pure: no sockets, no clock).

:class:`TcpSendOptions`, :class:`TcpRecvOptions` and :class:`TcpKeepaliveOptions` are the only
declaration of the probes' options (scenario files, ``natsim probe`` flags, the lab driver, the model);
their ladder (``connections``, ``first``, ``step``) is the one every idle probe shares
(:class:`~natsim.probes.idle_ladder.LadderOptions`). Connection ``i`` is tested after being idle
``first + i*step`` real-world seconds, measured from its own connect-complete time (an absolute
deadline: no drift). The lab waits ``idle / time_scale``.

tcp-send and tcp-recv set ``TCP_USER_TIMEOUT`` to :data:`USER_TIMEOUT` unless told otherwise, wherever
they run (lab, real network, model): a dead connection then reports within two minutes instead of the
kernel's ``tcp_retries2`` (about 15 minutes, and unscaled in a lab). ``user_timeout: 0`` asks for the
kernel's own limit (``TCP_USER_TIMEOUT`` 0 means exactly that). tcp-keepalive sets none by default:
``TCP_USER_TIMEOUT`` would override its probe count.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

from natsim.errors import ConfigError, ProbeError
from natsim.fields import duration_field, plain_field
from natsim.kernel_facts import TCP_KEEPALIVE_INTVL, TCP_KEEPALIVE_PROBES, TCP_KEEPCNT_MAX
from natsim.probes.idle_ladder import GRACE_WALL, MAX_CONNECTIONS, LadderOptions, check_ladder, deadline
from natsim.probes.options import option_fields
from natsim.probes.tcp.protocol import MAX_SLEEP
from natsim.units import TimeScale, format_duration

__all__ = ["CONNECT_CONCURRENCY", "CONNECT_TIMEOUT_WALL", "FLAVOURS", "GRACE_WALL", "MAX_CONNECTIONS",
           "USER_TIMEOUT", "TcpKeepaliveOptions", "TcpProbeOptions", "TcpRecvOptions", "TcpSendOptions",
           "deadline", "run_options", "sleep_problem", "sleep_seconds"]

#: Wall seconds a probe allows each connect before it gives that connection up (verdict ``dead``, how
#: ``connect``); the tools and the model read this one value.
CONNECT_TIMEOUT_WALL = 10.0
#: Connections a probe sets up at once; the others wait for a free slot (tools and model alike).
CONNECT_CONCURRENCY = 64
#: The two schedules (see :mod:`natsim.probes.tcp.model`).
FLAVOURS = ("natsim", "original")
#: TCP_USER_TIMEOUT (real-world seconds) of tcp-send and tcp-recv unless an option says otherwise.
USER_TIMEOUT = 120.0
_USER_TIMEOUT_DOC = "TCP_USER_TIMEOUT: give up on unacknowledged data after this long"


@dataclass(frozen=True)
class TcpSendOptions(LadderOptions):
    """Options of tcp-send (the kind, its summary and service: :mod:`natsim.probes.tcp.kinds`)."""

    kind: ClassVar[str] = "tcp-send"

    user_timeout: float | None = duration_field(
        USER_TIMEOUT, _USER_TIMEOUT_DOC + " (0: the kernel's tcp_retries2, about 15 min)", optional=True,
        allow_zero=True)
    port: int | None = plain_field(None, "service port (default: the kind's service)", "int",
                                   optional=True, minimum=1, maximum=65535)
    so_keepalive: bool = plain_field(
        False, "SO_KEEPALIVE on every connection with the host's own keepalive timers (its "
        "net.ipv4.tcp_keepalive_*: a scenario's hosts:), as an application's keepalive switch does "
        "(libpq keepalives=1, Redis, a JDBC pool); tcp-keepalive always has it, with its own idles", "bool")
    flavour: str = plain_field("natsim", "schedule: natsim has absolute deadlines, all connections in "
                               "parallel; original is the NAT-TCP-test tools' sequential one (model "
                               "only: the lab's tools run natsim; the original tools set no user_timeout: "
                               "give 0)", "choice", choices=FLAVOURS, cli=None)


@dataclass(frozen=True)
class TcpRecvOptions(TcpSendOptions):
    """Options of tcp-recv: those of tcp-send."""

    kind: ClassVar[str] = "tcp-recv"

    def validate(self) -> None:
        """Every idle time must be a sleep the server takes (the tool checks the same)."""
        problem = sleep_problem(self)
        if problem is not None:
            raise ConfigError(problem)


@dataclass(frozen=True)
class TcpKeepaliveOptions(TcpSendOptions):
    """Options of tcp-keepalive: those of tcp-send, and the keepalive interval and count."""

    kind: ClassVar[str] = "tcp-keepalive"

    user_timeout: float | None = duration_field(
        None, _USER_TIMEOUT_DOC + " (unset: keepalive's probe count decides)", optional=True,
        allow_zero=True)
    keepalive_interval: float | None = duration_field(
        None, f"TCP_KEEPINTVL (default: the system's, Linux {TCP_KEEPALIVE_INTVL:g}s)",
        optional=True)
    keepalive_count: int | None = plain_field(
        None, f"TCP_KEEPCNT (default: the system's, Linux {TCP_KEEPALIVE_PROBES})", "int", optional=True,
        minimum=1, maximum=TCP_KEEPCNT_MAX)


@dataclass(frozen=True, kw_only=True)
class TcpProbeOptions(TcpKeepaliveOptions):
    """What one run of a TCP probe tool does: the kind's options plus where and how it runs (``port``:
    the service's port, which the tool fills in from its kind). Durations are real-world seconds
    unless named ``*_wall``."""

    server: str
    time_scale: float = 1.0
    grace_wall: float = GRACE_WALL          # wait past a deadline before calling silence dead
    connect_timeout_wall: float = CONNECT_TIMEOUT_WALL
    name: str | None = None
    node: str | None = None

    def __post_init__(self) -> None:
        check_ladder(self, self.time_scale)
        if self.port is not None and not 1 <= self.port <= 65535:
            raise ProbeError(f"--port must be 1..65535, got {self.port}")
        if self.user_timeout is not None and (self.user_timeout < 0 or not math.isfinite(self.user_timeout)):
            raise ProbeError(f"--user-timeout must be a duration >= 0, got {self.user_timeout}")
        if self.keepalive_interval is not None and self.keepalive_interval <= 0:
            raise ProbeError(f"--keepalive-interval must be positive, got {self.keepalive_interval}")
        if self.keepalive_count is not None and not 1 <= self.keepalive_count <= TCP_KEEPCNT_MAX:
            raise ProbeError(f"--keepalive-count must be 1..{TCP_KEEPCNT_MAX}, got {self.keepalive_count}")
        if self.grace_wall < 0 or self.connect_timeout_wall <= 0:
            raise ProbeError("grace must be >= 0 and the connect timeout positive")

    @property
    def scale(self) -> TimeScale:
        """The time scale."""
        return TimeScale(self.time_scale)

    def lab_seconds(self, real: float) -> float:
        """Wall-clock seconds standing for ``real`` real-world seconds."""
        return real / self.time_scale

    def user_timeout_ms(self) -> int | None:
        """TCP_USER_TIMEOUT in milliseconds (scaled), or None for the kernel's own limit."""
        if not self.user_timeout:
            return None
        return max(1, round(self.user_timeout / self.time_scale * 1000))


def sleep_problem(options: TcpSendOptions) -> str | None:
    """Why the sleep service cannot serve a recv test with ``options`` (None: it can). The scenario
    loader (:meth:`TcpRecvOptions.validate`) and the tool (:func:`sleep_seconds`) both ask this."""
    for i, idle in enumerate(options.idles()):
        if not float(idle).is_integer():
            return (f"recv: connection {i} would sleep {idle:g} s; the sleep service takes whole seconds "
                    "(use a whole-second step and first)")
        if idle > MAX_SLEEP:
            return (f"recv: connection {i} would sleep {format_duration(idle)}, above the server's "
                    f"limit of {format_duration(MAX_SLEEP)}")
    return None


def sleep_seconds(options: TcpSendOptions) -> list[int]:
    """The whole seconds each recv-test connection asks the server to sleep (the wire needs integers)."""
    problem = sleep_problem(options)
    if problem is not None:
        raise ProbeError(problem)
    return [int(idle) for idle in options.idles()]


def run_options(options: TcpSendOptions, **run: Any) -> TcpProbeOptions:
    """A tool run's options: the probe's declared options plus where and how it runs (``server``,
    ``time_scale``, ...; ``run`` wins, e.g. the ``port`` the tool resolved). The tools run the natsim
    schedule (``flavour`` is the model's)."""
    values = {f.name: getattr(options, f.name) for f in option_fields(type(options)) if f.name != "flavour"}
    return TcpProbeOptions(**{**values, **run})

"""A host's own TCP settings: the kernel's keepalive and retransmission sysctls, per host, in real-world
units (a scenario's ``hosts:`` section; ``natsim sweep --param client.tcp_keepalive_time=...``).

The fixes users try first are on the hosts (``net.ipv4.tcp_keepalive_time=600``). One
:class:`Endpoint` holds them; the lab writes them into the host's namespace, scaled like every timer
(:meth:`Endpoint.sysctls`: keepalive time and interval are whole lab seconds, the counts are counts),
and the model's sockets read the same values (:attr:`Endpoint.keepalive`, :attr:`Endpoint.give_up`).
A host that sets nothing has Linux's defaults (:mod:`natsim.kernel_facts`), at the lab's time scale.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import ClassVar

from natsim.errors import LabError
from natsim.fields import Settings, duration_field, plain_field
from natsim.kernel_facts import (
    TCP_KEEPALIVE_INTVL,
    TCP_KEEPALIVE_PROBES,
    TCP_KEEPALIVE_TIME,
    TCP_KEEPCNT_MAX,
    TCP_RETRIES2,
    retransmission_give_up,
)
from natsim.labview import RunningLab
from natsim.units import ScaledTimeout, TimeScale

#: Most ``tcp_retries2`` natsim accepts (the kernel takes any int; past this the give-up is hours).
MAX_RETRIES2 = 30
#: The sysctls whose values are durations (scaled in a lab); the others are counts.
_DURATIONS = ("tcp_keepalive_time", "tcp_keepalive_intvl")


@dataclass(frozen=True)
class Endpoint(Settings):
    """A host's kernel TCP settings (``net.ipv4.*`` of its namespace), in real-world units."""

    #: What errors call the owner of these settings.
    kind: ClassVar[str] = "host"

    tcp_keepalive_time: float = duration_field(
        TCP_KEEPALIVE_TIME, "net.ipv4.tcp_keepalive_time: idle time before the first keepalive probe of a "
        "socket with SO_KEEPALIVE and no TCP_KEEPIDLE of its own")
    tcp_keepalive_intvl: float = duration_field(
        TCP_KEEPALIVE_INTVL, "net.ipv4.tcp_keepalive_intvl: time between unanswered keepalive probes")
    tcp_keepalive_probes: int = plain_field(
        TCP_KEEPALIVE_PROBES, "net.ipv4.tcp_keepalive_probes: unanswered probes before ETIMEDOUT", "int",
        minimum=1, maximum=TCP_KEEPCNT_MAX)
    tcp_retries2: int = plain_field(
        TCP_RETRIES2, "net.ipv4.tcp_retries2: retransmissions of unacknowledged data before ETIMEDOUT "
        "(a count: the lab does not scale the retransmission timer)", "int", minimum=1,
        maximum=MAX_RETRIES2)

    @property
    def keepalive(self) -> tuple[float, float, int]:
        """(time, interval, probes) of the kernel's keepalive, real-world seconds."""
        return (self.tcp_keepalive_time, self.tcp_keepalive_intvl, self.tcp_keepalive_probes)

    @property
    def give_up(self) -> float:
        """Seconds of retransmission (at kernel speed) before unacknowledged data ends in ETIMEDOUT."""
        return retransmission_give_up(self.tcp_retries2)

    def scaled(self, node: str, scale: TimeScale) -> list[ScaledTimeout]:
        """The keepalive time and interval in whole lab seconds; a value the user set must scale
        within the time scale's limit (:meth:`TimeScale.kernel_seconds`), a default is rounded."""
        default = Endpoint()
        return [scale.kernel_seconds(f"{node}.{name}", getattr(self, name),
                                     strict=getattr(self, name) != getattr(default, name))
                for name in _DURATIONS]

    def sysctls(self, node: str, scale: TimeScale) -> dict[str, str]:
        """``net.ipv4.*`` → the value the lab writes in ``node``'s namespace."""
        values = {f"net.ipv4.{t.name.partition('.')[2]}": str(t.lab) for t in self.scaled(node, scale)}
        values["net.ipv4.tcp_keepalive_probes"] = str(self.tcp_keepalive_probes)
        values["net.ipv4.tcp_retries2"] = str(self.tcp_retries2)
        return values


#: Linux's defaults: a host the scenario says nothing about.
DEFAULT = Endpoint()
#: The setting names, in declaration order.
SETTINGS = tuple(f.name for f in fields(Endpoint))


def apply_endpoint(lab: RunningLab, node: str, endpoint: Endpoint) -> list[str]:
    """Write ``endpoint``'s sysctls into ``node``'s namespace at the lab's time scale; a note per
    rounded value (for the result's unscaled list)."""
    scaled = endpoint.scaled(node, lab.time_scale)
    values = endpoint.sysctls(node, lab.time_scale)
    code, out = lab.run(node, ["sysctl", "-q", "-w", *(f"{k}={v}" for k, v in values.items())])
    if code != 0:
        raise LabError(f"{node}: sysctl failed: {out.strip()}")
    return [t.describe() for t in scaled if t.rounded]


__all__ = ["DEFAULT", "SETTINGS", "Endpoint", "apply_endpoint"]

"""Frozen stand-ins for ``natsim.scenario`` objects, for the model's unit tests."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from natsim.middleboxes.conntrack.policy import Untracked
from natsim.middleboxes.cpe_bridge import CpeBridge
from natsim.middleboxes.nat44 import Nat44
from natsim.middleboxes.presets import device
from natsim.units import TimeScale

LAB_SCALE = TimeScale(60)
ISP_CHAIN = ("client", "cpe", "cgn", "inet", "server")
#: The hosts' addresses in the shipped topologies (the NAT models need them).
ADDRESSES = {"client": "100.64.1.10", "server": "203.0.113.10"}


@dataclass(frozen=True)
class Probe:
    """A probe spec as the scenario loader provides it."""

    name: str
    kind: str
    client: str = "client"
    server: str = "server"
    start: float = 0.0
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Scenario:
    """A scenario as the loader provides it."""

    name: str
    middleboxes: dict[str, Any]
    probes: tuple[Probe, ...]
    chain: tuple[str, ...] = ISP_CHAIN
    topology: str = "isp-bridge-cgn"
    time_scale: TimeScale = LAB_SCALE
    seed: int = 0
    addresses: Mapping[str, str] = field(default_factory=lambda: dict(ADDRESSES))
    hosts: Mapping[str, Any] = field(default_factory=dict)


def incident_cpe(inbound: Untracked = Untracked.PICKUP) -> CpeBridge:
    """The incident's modem: 1 h, drops unknown outbound, picks up unknown inbound."""
    return CpeBridge(idle_timeout=3600.0, untracked_outbound=Untracked.DROP, untracked_inbound=inbound)


def ladder(**options: Any) -> tuple[Probe, ...]:
    """The three TCP probes with the same options."""
    return (Probe("send", "tcp-send", options=dict(options)),
            Probe("recv", "tcp-recv", options=dict(options)),
            Probe("keepalive", "tcp-keepalive", options=dict(options)))


def isp(cpe: CpeBridge | None = None, cgn: Nat44 | None = None, **options: Any) -> Scenario:
    """The ISP topology; the CGN defaults to RFC 5382 (2h4m) unless given."""
    boxes: dict[str, Any] = {"cpe": cpe or incident_cpe(), "cgn": cgn or device("cgn")}
    return Scenario("isp", boxes, ladder(**options))

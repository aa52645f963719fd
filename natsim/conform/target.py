"""The device under test: one middlebox node of a lab topology, with agents on either side of it.

``TARGET`` is ``TOPOLOGY:NODE`` (``isp-bridge-cgn:cgn``; TOPOLOGY may be ``FILE.py[:NAME]``).
The lab is brought up with the user's ``--set`` values; every *other* middlebox on the path is
made transparent (30-day timeouts for TCP and UDP, ``pickup`` for untracked packets) unless the user set it
explicitly, so only the target is measured.
An agent (:mod:`natsim.conform.agent`) runs in the inside host and in the outside host.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from natsim.errors import ConfigError
from natsim.lab.capture import chain_path, link_points
from natsim.lab.lab import Lab, lab_from_settings
from natsim.lab.topology import ROLES_PLAIN, find_topology, load_topology, node_specs
from natsim.middleboxes.conntrack.config import ConntrackConfig
from natsim.units import TimeScale

#: Settings that take a non-target middlebox out of the way.
TRANSPARENT = {"idle_timeout": "30d", "transitory_timeout": "30d", "udp_timeout": "30d",
               "udp_stream_timeout": "30d", "untracked_outbound": "pickup", "untracked_inbound": "pickup"}
#: Second address given to the outside host (endpoint-independence tests) and to the inside host (a
#: second internal endpoint with the same port: port assignment): the first one's last octet plus this.
SECOND_SUFFIX = 1


@dataclass
class Target:
    """A running lab around the middlebox under test."""

    lab: Lab
    node: str
    inside_host: str
    outside_host: str
    server_ip: str
    server_ip2: str
    notes: list[str]
    client_ip: str = ""
    client_ip2: str = ""

    @property
    def scale(self) -> float:
        """Real-world seconds per lab second."""
        return self.lab.time_scale.factor


def parse_target(text: str) -> tuple[str, str]:
    """``TOPOLOGY:NODE`` → (topology, node)."""
    topology, sep, node = text.rpartition(":")
    if not sep or not topology or not node:
        raise ConfigError(f"target {text!r}: expected TOPOLOGY:NODE, e.g. isp-bridge-cgn:cgn")
    return topology, node


def build_lab(target: str, settings: Mapping[str, Mapping[str, Any]],
              scale: TimeScale, *, trust: bool = False) -> tuple[Lab, str, list[str]]:
    """The (not yet started) lab for ``target`` with the other middleboxes made transparent;
    ``trust`` allows a topology file that is not shipped with natsim."""
    name, node = parse_target(target)
    topology = find_topology(name, trust=trust)
    _, topo = load_topology(topology)
    specs = node_specs(topo)
    if node not in specs:
        raise ConfigError(f"target {target}: no node {node!r} (nodes: {', '.join(specs)})")
    if specs[node].role in ROLES_PLAIN:
        raise ConfigError(f"target {target}: {node} is a plain {specs[node].role}, not a middlebox")
    merged: dict[str, dict[str, Any]] = {n: dict(v) for n, v in settings.items()}
    notes = []
    for name, spec in specs.items():
        if name == node or spec.role in ROLES_PLAIN or name in merged:
            continue
        from natsim.middleboxes import config_class

        if issubclass(config_class(spec.kind), ConntrackConfig):
            merged[name] = dict(TRANSPARENT)
            notes.append(f"{name} ({spec.role}) made transparent: 30-day TCP and UDP timeouts, pickup")
    return lab_from_settings(topology, merged, scale), node, notes


def locate_hosts(lab: Lab, node: str) -> tuple[str, str]:
    """The hosts at the inside and outside ends of the path through ``node``."""
    path = chain_path(link_points(lab))
    if not path or node not in path:
        raise ConfigError(f"conform needs a chain topology through {node} (client … middlebox … server)")
    spec = lab.specs[node]
    index = path.index(node)
    for point in link_points(lab):
        ends = {point.node: point.iface, point.peer: point.peer_iface}
        if ends.get(node) in spec.inside:
            neighbour = point.peer if point.node == node else point.node
            if path.index(neighbour) < index:
                return path[0], path[-1]
            return path[-1], path[0]
    raise ConfigError(f"{node}: no inside interface on the path")


def second_address(lab: Lab, host: str) -> tuple[str, str]:
    """Give ``host`` a second address beside its first one (in its namespace only); (first, second)."""
    first = lab.address(host)
    intf = next(i for i in lab.node(host).intfList() if i.IP() == first)
    octets = first.split(".")
    octets[-1] = str(int(octets[-1]) + SECOND_SUFFIX)
    second = ".".join(octets)
    lab.runner(host).run(["ip", "addr", "add", f"{second}/{intf.prefixLen}", "dev", intf.name])
    return first, second


def start_target(lab: Lab, node: str, notes: list[str]) -> Target:
    """Locate the hosts and give each a second address (lab namespaces only)."""
    inside, outside = locate_hosts(lab, node)
    server_ip, second = second_address(lab, outside)
    client_ip, client2 = second_address(lab, inside)
    return Target(lab, node, inside, outside, server_ip, second,
                  [*notes, f"{outside} has a second address {second} for endpoint-independence tests",
                   f"{inside} has a second address {client2}: a second internal endpoint (port assignment)"],
                  client_ip=client_ip, client_ip2=client2)

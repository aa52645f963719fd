"""Mininet link and interface classes whose settings are recorded instead of run.

Mininet's ``Link`` creates its veth pair with one command and each ``Intf`` configures itself with
more (``ifconfig``: address, up), one shell round trip each. In a natsim lab, :class:`LabLink` and
:class:`LabIntf` only record what they would do; :mod:`natsim.lab.bringup` then creates every veth
pair of the lab with one ``ip -batch`` and configures each node with one more. The objects are
Mininet's all the same (``intf.IP()``, ``node.intfList()``, the Mininet CLI), so a topology that
names its own link class (``cls=TCLink``) still gets Mininet's behaviour for that link.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from natsim.errors import ConfigError
from natsim.lab.mininet_compat import Intf, Link


@dataclass(frozen=True)
class IntfSettings:
    """What an interface is set to: its address (``IP/LEN``), MAC address, and whether it is up."""

    name: str
    address: str | None = None
    mac: str | None = None
    up: bool = True


@dataclass(frozen=True)
class VethPair:
    """One veth pair to create: each end's name, MAC address (or None) and node."""

    name1: str
    mac1: str | None
    node1: str
    name2: str
    mac2: str | None
    node2: str


class LabIntf(Intf):  # type: ignore[misc]
    """A Mininet ``Intf`` that records its address, MAC address and state for its node's batch."""

    def config(self, mac: str | None = None, ip: str | None = None, ifconfig: Any = None,
               up: bool = True, **_params: Any) -> dict[str, Any]:
        """Record the settings Mininet's ``Intf.config`` would apply (other parameters are ignored,
        as Mininet's plain ``Intf`` ignores them); ``ifconfig`` arguments are refused."""
        if ifconfig is not None:
            raise ConfigError(f"interface {self.name}: the 'ifconfig' parameter is not supported "
                              "(give 'ip' and 'mac', or natsim_addresses on the node)")
        self.set_mac = mac     # the MAC Link gave (``self.mac``) is set when the pair is made
        if mac is not None:
            self.mac = mac
        if ip is not None:
            if "/" not in str(ip):
                raise ConfigError(f"interface {self.name}: address {ip!r} has no prefix length (IP/LEN)")
            self.ip, self.prefixLen = str(ip).split("/", 1)
        self.up = bool(up)
        return {}

    def settings(self) -> IntfSettings:
        """What the node's batch sets this interface to."""
        address = f"{self.ip}/{self.prefixLen}" if self.ip else None
        return IntfSettings(str(self.name), address, self.set_mac, self.up)


class LabLink(Link):  # type: ignore[misc]
    """A Mininet ``Link`` whose veth pair is recorded (:attr:`pair`), not created."""

    def makeIntfPair(self, intfname1: str, intfname2: str, addr1: str | None = None,
                     addr2: str | None = None, node1: Any = None, node2: Any = None,
                     deleteIntfs: bool = True) -> None:
        """Record the pair; :func:`natsim.lab.bringup.create_links` makes it."""
        self.pair = VethPair(intfname1, addr1, node1.name, intfname2, addr2, node2.name)

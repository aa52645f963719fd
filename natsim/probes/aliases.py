"""Host labels on the wire of a model: a model NAT without a pool names its public address by a label
(``router-wan``), which no IPv4 field of a wire format can carry. :class:`Aliases` gives each label a
stand-in address of 240.0.0.0/4 (reserved; never a lab address) and turns it back where the model's
tool reads it (the ``nat-type`` and ``hole-punch`` models).
"""

from __future__ import annotations

import ipaddress

Address = tuple[str, int]


class Aliases:
    """Host labels (not IPv4 addresses) ↔ stand-in addresses of 240.0.0.0/4, both ways."""

    def __init__(self) -> None:
        self.ips: dict[str, str] = {}
        self.labels: dict[str, str] = {}

    def wire(self, address: Address) -> Address:
        """``address`` as an IPv4 field of a wire format can carry it."""
        host, port = address
        try:
            ipaddress.IPv4Address(host)
            return address
        except ValueError:
            if host not in self.ips:
                self.ips[host] = str(ipaddress.IPv4Address("240.0.0.1") + len(self.ips))
                self.labels[self.ips[host]] = host
            return (self.ips[host], port)

    def model(self, address: Address | None) -> Address | None:
        """A wire address as the model names it."""
        return None if address is None else (self.labels.get(address[0], address[0]), address[1])

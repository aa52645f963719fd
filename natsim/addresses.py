"""The address ranges a lab may use, and checks against them."""

from __future__ import annotations

import ipaddress

from natsim.errors import AddressError

#: TEST-NET-1/2/3 (RFC 5737) and the shared address space for CGN insides (RFC 6598).
LAB_NETWORKS = tuple(ipaddress.ip_network(n) for n in
                     ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "100.64.0.0/10"))
PUBLIC_NETWORKS = LAB_NETWORKS[:3]
SHARED_NETWORK = LAB_NETWORKS[3]


def check_lab_address(value: str, *, what: str = "address", public: bool = False) -> str:
    """Validate an address or prefix (``192.0.2.1``, ``192.0.2.1/24``, ``192.0.2.0/28``).

    It must lie inside :data:`LAB_NETWORKS` (only TEST-NET when ``public``). Returns ``value``.
    """
    try:
        iface = ipaddress.ip_interface(value)
    except ValueError as err:
        raise AddressError(f"{what}: not an IPv4 address or prefix: {value!r}") from err
    allowed = PUBLIC_NETWORKS if public else LAB_NETWORKS
    net = iface.network if "/" in str(value) else ipaddress.ip_network(f"{iface.ip}/32")
    if iface.version != 4 or not any(net.subnet_of(a) for a in allowed):  # type: ignore[arg-type]
        ranges = ", ".join(str(a) for a in allowed)
        raise AddressError(f"{what}: {value} is outside the lab ranges ({ranges})")
    return value

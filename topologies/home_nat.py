"""One NAT between a client and a server: client — router — server, in two roles.

``home-nat``: the router is a consumer ``home-router``. ``cloud-nat``: the router is the generic ``nat``
kind's node, for the NAT device presets (``aws-nat-gateway``, ``azure-nat-gateway``, ``gcp-cloud-nat``,
``openwrt``, ``rfc5382-minimum``). The two differ only in the router's role (one class, one subclass), so
the chain is written once. The inside is 192.0.2.0/24 (TEST-NET-1 standing in for a private LAN or
subnet), the outside 198.51.100.0/24.
``sudo mn --custom topologies/home_nat.py --topo home-nat --controller none`` (or ``--topo cloud-nat``)
builds it in plain Mininet (addresses only).
"""

from mininet.topo import Topo


class HomeNat(Topo):
    """One LAN host behind a consumer NAT router."""

    #: The router's ``natsim_role``.
    router_role = "home-router"

    def build(self) -> None:  # type: ignore[override]
        client = self.addHost("client", ip=None, defaultRoute="via 192.0.2.1", natsim_role="host")
        router = self.addHost("router", ip=None, natsim_role=self.router_role,
                              natsim_inside=["router-eth0"], natsim_outside=["router-eth1"])
        server = self.addHost("server", ip=None, defaultRoute="via 198.51.100.1", natsim_role="host")
        self.addLink(client, router, intfName1="client-eth0", intfName2="router-eth0",
                     params1={"ip": "192.0.2.10/24"}, params2={"ip": "192.0.2.1/24"})
        self.addLink(router, server, intfName1="router-eth1", intfName2="server-eth0",
                     params1={"ip": "198.51.100.1/24"}, params2={"ip": "198.51.100.10/24"})


class CloudNat(HomeNat):
    """One inside host behind a NAT of the generic ``nat`` kind (a cloud NAT gateway's place)."""

    router_role = "nat"


topos = {"home-nat": HomeNat, "cloud-nat": CloudNat}

"""Two inside hosts behind one ``nat`` node, and a server (the matrix test gives it a second address).

``a`` 192.0.2.10 (router-eth0) and ``b`` 192.0.2.130 (router-eth2) share the inside prefix
192.0.2.0/24; the server is 198.51.100.10 behind router-eth1 (198.51.100.1).
"""

from mininet.topo import Topo


class NatMatrix(Topo):
    """a, b — router (nat) — server."""

    def build(self) -> None:  # type: ignore[override]
        a = self.addHost("a", ip=None, defaultRoute="via 192.0.2.1", natsim_role="host")
        b = self.addHost("b", ip=None, defaultRoute="via 192.0.2.129", natsim_role="host")
        router = self.addHost("router", ip=None, natsim_role="nat",
                              natsim_inside=["router-eth0", "router-eth2"], natsim_outside=["router-eth1"])
        server = self.addHost("server", ip=None, defaultRoute="via 198.51.100.1", natsim_role="host")
        self.addLink(a, router, intfName1="a-eth0", intfName2="router-eth0",
                     params1={"ip": "192.0.2.10/25"}, params2={"ip": "192.0.2.1/25"})
        self.addLink(router, server, intfName1="router-eth1", intfName2="server-eth0",
                     params1={"ip": "198.51.100.1/24"}, params2={"ip": "198.51.100.10/24"})
        self.addLink(b, router, intfName1="b-eth0", intfName2="router-eth2",
                     params1={"ip": "192.0.2.130/25"}, params2={"ip": "192.0.2.129/25"})


topos = {"nat-matrix": NatMatrix}

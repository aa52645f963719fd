"""Data-centre firewall topology: client — fw (firewall, routing) — server.

The inside (the protected side) is 192.0.2.0/24 with the client at 192.0.2.10, the outside
198.51.100.0/24 with the server at 198.51.100.10; the firewall routes between them without
translating. ``sudo mn --custom topologies/dc_firewall.py --topo dc-firewall --controller none`` builds
it in plain Mininet (addresses only).
"""

from mininet.topo import Topo


class DcFirewall(Topo):
    """One inside host, a stateful routed firewall, one outside server."""

    def build(self) -> None:  # type: ignore[override]
        client = self.addHost("client", ip=None, defaultRoute="via 192.0.2.1", natsim_role="host")
        fw = self.addHost("fw", ip=None, natsim_role="firewall",
                          natsim_inside=["fw-eth0"], natsim_outside=["fw-eth1"])
        server = self.addHost("server", ip=None, defaultRoute="via 198.51.100.1", natsim_role="host")
        self.addLink(client, fw, intfName1="client-eth0", intfName2="fw-eth0",
                     params1={"ip": "192.0.2.10/24"}, params2={"ip": "192.0.2.1/24"})
        self.addLink(fw, server, intfName1="fw-eth1", intfName2="server-eth0",
                     params1={"ip": "198.51.100.1/24"}, params2={"ip": "198.51.100.10/24"})


topos = {"dc-firewall": DcFirewall}

"""ISP incident topology: client — cpe (bridge) — cgn — inet (router) — server.

Pure data (Mininet ``Topo``). natsim reads the ``natsim_*`` node parameters to place middleboxes;
plain Mininet builds it too: ``sudo mn --custom topologies/isp_bridge_cgn.py --topo isp-bridge-cgn
--controller none`` (hosts and addresses only; natsim adds forwarding, bridge and conntrack).

Addresses: the subscriber LAN is 100.64.1.0/24 (RFC 6598 shared space, bridged through the CPE),
the CGN's public pool 192.0.2.0/30 is routed to it over 198.51.100.0/24, the server is in
203.0.113.0/24.
"""

from mininet.topo import Topo


class IspBridgeCgn(Topo):
    """Subscriber behind a bridge-mode cable modem and a carrier-grade NAT."""

    def build(self) -> None:  # type: ignore[override]
        client = self.addHost("client", ip=None, defaultRoute="via 100.64.1.1", natsim_role="host")
        cpe = self.addHost("cpe", ip=None, natsim_role="cpe-bridge",
                           natsim_inside=["cpe-eth0"], natsim_outside=["cpe-eth1"])
        cgn = self.addHost("cgn", ip=None, natsim_role="cgn",
                           natsim_inside=["cgn-eth0"], natsim_outside=["cgn-eth1"],
                           natsim_routes=["default via 198.51.100.1"])
        inet = self.addHost("inet", ip=None, natsim_role="router",
                            natsim_routes=["192.0.2.0/24 via 198.51.100.2"])
        server = self.addHost("server", ip=None, defaultRoute="via 203.0.113.1", natsim_role="host")
        self.addLink(client, cpe, intfName1="client-eth0", intfName2="cpe-eth0",
                     params1={"ip": "100.64.1.10/24"})
        self.addLink(cpe, cgn, intfName1="cpe-eth1", intfName2="cgn-eth0",
                     params2={"ip": "100.64.1.1/24"})
        self.addLink(cgn, inet, intfName1="cgn-eth1", intfName2="inet-eth0",
                     params1={"ip": "198.51.100.2/24"}, params2={"ip": "198.51.100.1/24"})
        self.addLink(inet, server, intfName1="inet-eth1", intfName2="server-eth0",
                     params1={"ip": "203.0.113.1/24"}, params2={"ip": "203.0.113.10/24"})


topos = {"isp-bridge-cgn": IspBridgeCgn}

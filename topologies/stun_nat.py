"""NAT-type topology: client — router (home-router) — server, the server with two addresses.

An RFC 5780 STUN server needs two IP addresses (CHANGE-REQUEST "change IP"): the server node has
203.0.113.10 (its first address, what ``server`` stands for) and 203.0.113.11 on the same interface
(``natsim_addresses``). The LAN is 192.0.2.0/24, the router's outside 203.0.113.1.
``sudo mn --custom topologies/stun_nat.py --topo stun-nat --controller none`` builds it in plain
Mininet (without the second address, which only natsim adds).
"""

from mininet.topo import Topo


class StunNat(Topo):
    """One LAN host behind a consumer NAT router; a STUN server with two addresses outside."""

    def build(self) -> None:  # type: ignore[override]
        client = self.addHost("client", ip=None, defaultRoute="via 192.0.2.1", natsim_role="host")
        router = self.addHost("router", ip=None, natsim_role="home-router",
                              natsim_inside=["router-eth0"], natsim_outside=["router-eth1"])
        server = self.addHost("server", ip=None, defaultRoute="via 203.0.113.1", natsim_role="host",
                              natsim_addresses=["203.0.113.11/24 dev server-eth0"])
        self.addLink(client, router, intfName1="client-eth0", intfName2="router-eth0",
                     params1={"ip": "192.0.2.10/24"}, params2={"ip": "192.0.2.1/24"})
        self.addLink(router, server, intfName1="router-eth1", intfName2="server-eth0",
                     params1={"ip": "203.0.113.1/24"}, params2={"ip": "203.0.113.10/24"})


topos = {"stun-nat": StunNat}

"""Cloud NAT gateway topology: client — router (nat) — server.

The generic ``nat`` kind's node, for the NAT device presets (``aws-nat-gateway``, ``azure-nat-gateway``,
``gcp-cloud-nat``, ``openwrt``, ``rfc5382-minimum``). The inside is 192.0.2.0/24 (TEST-NET-1 standing in
for a private subnet), the outside 198.51.100.0/24.
``sudo mn --custom topologies/cloud_nat.py --topo cloud-nat --controller none`` builds it in plain
Mininet (addresses only).
"""

from mininet.topo import Topo


class CloudNat(Topo):
    """One inside host behind a NAT of the generic ``nat`` kind."""

    def build(self) -> None:  # type: ignore[override]
        client = self.addHost("client", ip=None, defaultRoute="via 192.0.2.1", natsim_role="host")
        router = self.addHost("router", ip=None, natsim_role="nat",
                              natsim_inside=["router-eth0"], natsim_outside=["router-eth1"])
        server = self.addHost("server", ip=None, defaultRoute="via 198.51.100.1", natsim_role="host")
        self.addLink(client, router, intfName1="client-eth0", intfName2="router-eth0",
                     params1={"ip": "192.0.2.10/24"}, params2={"ip": "192.0.2.1/24"})
        self.addLink(router, server, intfName1="router-eth1", intfName2="server-eth0",
                     params1={"ip": "198.51.100.1/24"}, params2={"ip": "198.51.100.10/24"})


topos = {"cloud-nat": CloudNat}

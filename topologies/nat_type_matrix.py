"""NAT-type matrix: nine ``nat`` nodes, one per mapping × filtering behaviour, each with a client of its
own, all reaching one STUN server with two addresses through a core router.

``c1`` … ``c9`` sit behind ``eim-eif`` … ``apdm-apdf`` (EIM/ADM/APDM mapping × EIF/ADF/APDF filtering,
in that order): client k is 192.0.2.(16k+2)/28 behind its NAT's 192.0.2.(16k+1); the NAT's outside is
198.51.100.(4k+1)/30 towards ``core`` (198.51.100.(4k+2)). The server is 203.0.113.10 and 203.0.113.11
(``natsim_addresses``) behind ``core``'s 203.0.113.1. Each NAT holds only its own client's mappings, so
no configuration sees state another one left (the scenario ``nat-type-matrix`` sets the behaviours).
``sudo mn --custom topologies/nat_type_matrix.py --topo nat-type-matrix --controller none`` builds it
in plain Mininet (without the second address and the NAT rules, which only natsim adds).
"""

from mininet.topo import Topo

#: The NAT nodes, in client order (mapping, then filtering).
NATS = ("eim-eif", "eim-adf", "eim-apdf", "adm-eif", "adm-adf", "adm-apdf", "apdm-eif", "apdm-adf",
        "apdm-apdf")


class NatTypeMatrix(Topo):
    """c1..c9 — their NATs — core (router) — server (two addresses)."""

    def build(self) -> None:  # type: ignore[override]
        core = self.addHost("core", ip=None, natsim_role="router")
        server = self.addHost("server", ip=None, defaultRoute="via 203.0.113.1", natsim_role="host",
                              natsim_addresses=["203.0.113.11/24 dev server-eth0"])
        self.addLink(server, core, intfName1="server-eth0", intfName2="core-eth0",
                     params1={"ip": "203.0.113.10/24"}, params2={"ip": "203.0.113.1/24"})
        for k, name in enumerate(NATS, start=1):
            client = self.addHost(f"c{k}", ip=None, defaultRoute=f"via 192.0.2.{16 * k + 1}",
                                  natsim_role="host")
            nat = self.addHost(name, ip=None, defaultRoute=f"via 198.51.100.{4 * k + 2}", natsim_role="nat",
                               natsim_inside=[f"{name}-eth0"], natsim_outside=[f"{name}-eth1"])
            self.addLink(client, nat, intfName1=f"c{k}-eth0", intfName2=f"{name}-eth0",
                         params1={"ip": f"192.0.2.{16 * k + 2}/28"},
                         params2={"ip": f"192.0.2.{16 * k + 1}/28"})
            self.addLink(nat, core, intfName1=f"{name}-eth1", intfName2=f"core-eth{k}",
                         params1={"ip": f"198.51.100.{4 * k + 1}/30"},
                         params2={"ip": f"198.51.100.{4 * k + 2}/30"})


topos = {"nat-type-matrix": NatTypeMatrix}

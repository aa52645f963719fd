"""Load-balancer topology: client — lb (load-balancer) — web1, web2.

The client (198.51.100.10) reaches the virtual IP 198.51.100.1: the load balancer's own address on its
inside link. New connections go to web1 (203.0.113.10) and web2 (203.0.113.130) in turn, each on its
own link of the load balancer, with their default route back through it (they see the client's
address). ``sudo mn --custom topologies/dc_load_balancer.py --topo dc-load-balancer --controller none``
builds it in plain Mininet (addresses only).
"""

from mininet.topo import Topo


class DcLoadBalancer(Topo):
    """One client, an L4 load balancer, two backends."""

    def build(self) -> None:  # type: ignore[override]
        client = self.addHost("client", ip=None, defaultRoute="via 198.51.100.1", natsim_role="host")
        lb = self.addHost("lb", ip=None, natsim_role="load-balancer",
                          natsim_inside=["lb-eth0"], natsim_outside=["lb-eth1", "lb-eth2"])
        web1 = self.addHost("web1", ip=None, defaultRoute="via 203.0.113.1", natsim_role="host")
        web2 = self.addHost("web2", ip=None, defaultRoute="via 203.0.113.129", natsim_role="host")
        self.addLink(client, lb, intfName1="client-eth0", intfName2="lb-eth0",
                     params1={"ip": "198.51.100.10/24"}, params2={"ip": "198.51.100.1/24"})
        self.addLink(lb, web1, intfName1="lb-eth1", intfName2="web1-eth0",
                     params1={"ip": "203.0.113.1/25"}, params2={"ip": "203.0.113.10/25"})
        self.addLink(lb, web2, intfName1="lb-eth2", intfName2="web2-eth0",
                     params1={"ip": "203.0.113.129/25"}, params2={"ip": "203.0.113.130/25"})


topos = {"dc-load-balancer": DcLoadBalancer}

"""Peer-to-peer hole punching: five pairs of peers, each peer behind a NAT of its own, and a rendezvous
server on the public side, all joined by a core router.

Pair k (1..5): ``ak`` is 192.0.2.(16k+2)/28 behind ``nat-ak`` (inside 192.0.2.(16k+1), outside
198.51.100.(8k+1)/30); ``bk`` is 100.64.k.2/24 behind ``nat-bk`` (inside 100.64.k.1, outside
198.51.100.(8k+5)/30); ``core`` holds the other end of each NAT's outside link and 203.0.113.1 towards
``rendezvous`` (203.0.113.10). Every NAT holds only its own peer's mappings, so no pair sees state
another one left; a peer reaches the other only through both NATs' public addresses (the scenario
``p2p-hole-punch`` sets each NAT's behaviour; the ``nat`` kind translates 192.0.2.0/24 by default, so
the ``nat-bk`` are given ``inside: 100.64.0.0/10``). ``sudo mn --custom topologies/p2p_hole_punch.py
--topo p2p-hole-punch --controller none`` builds it in plain Mininet (without the NAT rules, which only
natsim adds).
"""

from mininet.topo import Topo

#: How many pairs of peers.
PAIRS = 5


class P2pHolePunch(Topo):
    """a1..a5 and b1..b5 — their NATs — core (router) — rendezvous."""

    def build(self) -> None:  # type: ignore[override]
        core = self.addHost("core", ip=None, natsim_role="router")
        rendezvous = self.addHost("rendezvous", ip=None, defaultRoute="via 203.0.113.1", natsim_role="host")
        self.addLink(rendezvous, core, intfName1="rendezvous-eth0", intfName2="core-eth0",
                     params1={"ip": "203.0.113.10/24"}, params2={"ip": "203.0.113.1/24"})
        for k in range(1, PAIRS + 1):
            sides = ((f"a{k}", f"192.0.2.{16 * k + 2}/28", f"192.0.2.{16 * k + 1}", 8 * k + 1),
                     (f"b{k}", f"100.64.{k}.2/24", f"100.64.{k}.1", 8 * k + 5))
            for j, (peer, address, gateway, outside) in enumerate(sides):
                host = self.addHost(peer, ip=None, defaultRoute=f"via {gateway}", natsim_role="host")
                nat = self.addHost(f"nat-{peer}", ip=None, defaultRoute=f"via 198.51.100.{outside + 1}",
                                   natsim_role="nat", natsim_inside=[f"nat-{peer}-eth0"],
                                   natsim_outside=[f"nat-{peer}-eth1"])
                prefix = address.split("/")[1]
                self.addLink(host, nat, intfName1=f"{peer}-eth0", intfName2=f"nat-{peer}-eth0",
                             params1={"ip": address}, params2={"ip": f"{gateway}/{prefix}"})
                self.addLink(nat, core, intfName1=f"nat-{peer}-eth1", intfName2=f"core-eth{2 * k - 1 + j}",
                             params1={"ip": f"198.51.100.{outside}/30"},
                             params2={"ip": f"198.51.100.{outside + 1}/30"})


topos = {"p2p-hole-punch": P2pHolePunch}

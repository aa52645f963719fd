"""Data-centre SSH interception topology (the Palo Alto incident).

client1, client2 (192.0.2.0/24) — fw (ssh-proxy, routing) — gossh (203.0.113.20, Go-style SSH on
port 2222) and sshd (203.0.113.130, OpenSSH), each on its own link of the firewall.
``sudo mn --custom topologies/dc_ssh_proxy.py --topo dc-ssh-proxy --controller none``.
"""

from mininet.topo import Topo


class DcSshProxy(Topo):
    """Two clients, an intercepting firewall, two SSH servers."""

    def build(self) -> None:  # type: ignore[override]
        c1 = self.addHost("client1", ip=None, defaultRoute="via 192.0.2.1", natsim_role="host")
        c2 = self.addHost("client2", ip=None, defaultRoute="via 198.51.100.1", natsim_role="host")
        fw = self.addHost("fw", ip=None, natsim_role="ssh-proxy",
                          natsim_inside=["fw-eth0", "fw-eth1"], natsim_outside=["fw-eth2", "fw-eth3"])
        gossh = self.addHost("gossh", ip=None, defaultRoute="via 203.0.113.1", natsim_role="host")
        sshd = self.addHost("sshd", ip=None, defaultRoute="via 203.0.113.129", natsim_role="host")
        self.addLink(c1, fw, intfName1="client1-eth0", intfName2="fw-eth0",
                     params1={"ip": "192.0.2.10/24"}, params2={"ip": "192.0.2.1/24"})
        self.addLink(c2, fw, intfName1="client2-eth0", intfName2="fw-eth1",
                     params1={"ip": "198.51.100.10/24"}, params2={"ip": "198.51.100.1/24"})
        self.addLink(fw, gossh, intfName1="fw-eth2", intfName2="gossh-eth0",
                     params1={"ip": "203.0.113.1/25"}, params2={"ip": "203.0.113.20/25"})
        self.addLink(fw, sshd, intfName1="fw-eth3", intfName2="sshd-eth0",
                     params1={"ip": "203.0.113.129/25"}, params2={"ip": "203.0.113.130/25"})


topos = {"dc-ssh-proxy": DcSshProxy}

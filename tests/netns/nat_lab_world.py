"""The NAT matrix script (:mod:`tests.nat_matrix`) played in a lab: one agent per host
(:mod:`natsim.conform.agent`), every configuration rendered into the same running NAT after its
ruleset and conntrack table are flushed (inside the node only)."""

from __future__ import annotations

import time
from pathlib import Path

from natsim.conform.agent_client import Agent
from natsim.lab import Lab
from natsim.middleboxes import render
from natsim.middleboxes.base import Middlebox
from tests.nat_matrix import INSIDE, SERVERS, Addr, Namer, Send, World

PUBLIC = "198.51.100.1"
#: How long a receiver is given to get a datagram (lab RTTs are far below a millisecond).
WAIT = 0.12


def start(lab: Lab) -> dict[str, Agent]:
    """An agent per host with its sockets: ``a`` and ``b`` on port 5000, the server's four endpoints
    (its second address added in its namespace); ICMP errors are reported on every socket."""
    lab.run("server", ["ip", "addr", "add", "198.51.100.11/24", "dev", "server-eth0"], check=True)
    agents = {"a": Agent(lab, "a"), "b": Agent(lab, "b"), "server": Agent(lab, "server")}   # a6, a7: a's
    for name, (_, port) in INSIDE.items():
        assert agents[name[0]]("udp_bind", name=name, port=port, recverr=True)["ok"]
    for name, (address, port) in SERVERS.items():
        assert agents["server"]("udp_bind", name=name, address=address, port=port, recverr=True)["ok"]
    return agents


class LabWorld(World):
    """The script played in ``lab`` with ``agents``, after ``config`` is rendered into its NAT."""

    def __init__(self, lab: Lab, agents: dict[str, Agent], config: Middlebox) -> None:
        super().__init__()
        self.lab, self.agents = lab, agents
        self.errors: dict[str, int] = {}
        self.lab.run("router", "nft flush ruleset && conntrack -F 2>/dev/null", check=True)
        self.lab.apply("router", render(config, lab.context("router")))
        for name in (*INSIDE, *SERVERS):
            self.recv(name, 0.0)
        self.name = Namer(lambda address: address == PUBLIC)
        self.times: dict[str, float] = {}
        self.began = time.monotonic()

    def agent(self, socket: str) -> Agent:
        return self.agents[socket[0] if socket in INSIDE else "server"]

    def recv(self, socket: str, timeout: float) -> list[dict[str, str]]:
        """What waits on ``socket``; ICMP errors are kept in ``errors``."""
        got: list[dict[str, str]] = self.agent(socket)("udp_recv", name=socket, timeout=timeout)["datagrams"]
        self.errors[socket] = self.errors.get(socket, 0) + sum(1 for g in got if "error" in g)
        return got

    def send(self, step: Send, dst: Addr) -> str:
        if step.at is not None:
            time.sleep(max(0.0, self.began + step.at - time.monotonic()))
        self.recv(step.sender, 0.0)
        self.errors[step.sender] = 0
        self.times[step.tag] = time.monotonic() - self.began
        self.agent(step.sender)("udp_send", name=step.sender, host=dst[0], port=dst[1], data=step.tag)
        receivers = [n for n, addr in SERVERS.items() if addr == dst] or list(INSIDE)
        for i, socket in enumerate(receivers):
            for got in self.recv(socket, WAIT if i == 0 else 0.0):
                if got.get("data") == step.tag:
                    host, port = got["from"].rsplit(":", 1)
                    self.seen[step.tag] = (host, int(port))
                    return f"to {socket} from {self.name((host, int(port)), self.source(step.sender)[1])}"
        self.recv(step.sender, 0.0)
        return "icmp" if self.errors[step.sender] else "lost"


TOPOLOGY = Path(__file__).with_name("nat_matrix_topology.py")

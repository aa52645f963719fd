"""One script of UDP datagrams through a NAT, played on the model and in the lab, observed the same way.

Two inside hosts (``a`` 192.0.2.10 and ``b`` 192.0.2.130, both sending from port 5000; ``a6`` and ``a7``
are a's ports 6000 and 7777) behind the NAT
``router``; one outside server with two addresses and two ports each (``S1`` .10:7000, ``S2`` .10:7001,
``S3`` .11:7000, ``S4`` .11:7001). A step sends one datagram; what happened to it is an *outcome*: it
was delivered (and whom the receiver saw it from), refused with ICMP port unreachable, or lost.
Public endpoints are named in order of appearance (``pub:5000`` when the NAT kept the source port,
``pub:r1``, ``pub:r2`` ... for the ports it chose), so the model's random ports and the kernel's compare.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from natsim.middleboxes.base import Middlebox
from natsim.middleboxes.registry import build_model
from natsim.sim.network import Answer, Drop, Forward
from natsim.sim.segment import ICMP, UDP, Segment
from natsim.units import TimeScale

INSIDE = {"a": ("192.0.2.10", 5000), "b": ("192.0.2.130", 5000), "a6": ("192.0.2.10", 6000),
          "a7": ("192.0.2.10", 7777)}
SERVERS = {"S1": ("198.51.100.10", 7000), "S2": ("198.51.100.10", 7001), "S3": ("198.51.100.11", 7000),
           "S4": ("198.51.100.11", 7001)}
TOPOLOGY = "tests/netns/nat_matrix_topology.py"
Addr = tuple[str, int]


@dataclass(frozen=True)
class Send:
    """``sender`` sends datagram ``tag`` to a server, or to the endpoint datagram ``to`` was seen from
    (``port``: that endpoint's address with another port), ``at`` lab seconds after the script began."""

    tag: str
    sender: str
    to: str
    port: int | None = None
    at: float | None = None


#: Filtering of one inside endpoint's mapping, the mapping of another one towards three servers, port
#: assignment against a second host, hairpinning, datagrams to public ports nobody holds.
BEHAVIOUR = (
    Send("m1", "a", "S1"),
    Send("f-port", "S2", "m1"),      # the same address, another port
    Send("f-addr", "S3", "m1"),      # another address
    Send("f-same", "S1", "m1"),      # the endpoint it sent to
    Send("x1", "a6", "S1"),
    Send("x2", "a6", "S2"),          # the same address, another port
    Send("x3", "a6", "S3"),          # another address
    Send("o1", "b", "S4"),           # a's source port, towards a server ``a`` never used
    Send("h1", "b", "m1"),           # to a's public endpoint, from the inside
    Send("h2", "a", "h1"),           # back to whom h1 was seen from
    Send("u1", "S1", "m1", port=9999),
    Send("u2", "S4", "m1", port=7777),   # refused before conntrack confirms it: it holds no tuple,
    Send("m4", "a7", "S4"),              # so a's port 7777 keeps its number towards S4
)


def refresh_script(timeout: float) -> tuple[Send, ...]:
    """Outbound keepalives inside the UDP ``timeout`` (lab s), a probe from outside just after it, then
    inbound datagrams only: which direction keeps the mapping (RFC 4787 REQ-6)."""
    t = timeout
    return (Send("k0", "a", "S1", at=0.0), Send("k0-reply", "S1", "k0", at=0.05),
            Send("k1", "a", "S1", at=0.3 * t), Send("k2", "a", "S1", at=0.6 * t),
            Send("k3", "a", "S1", at=0.9 * t), Send("p1", "S1", "k0", at=1.15 * t),
            Send("i1", "S1", "k0", at=1.45 * t), Send("i2", "S1", "k0", at=1.75 * t),
            Send("i3", "S1", "k0", at=2.05 * t), Send("i4", "S1", "k0", at=2.35 * t))


class Namer:
    """Names public endpoints in order of appearance (the NAT's own address is ``pub``)."""

    def __init__(self, public: Callable[[str], bool]) -> None:
        self.public = public
        self.names: dict[Addr, str] = {}

    def __call__(self, endpoint: Addr, sender_port: int) -> str:
        for name, addr in (*INSIDE.items(), *SERVERS.items()):
            if endpoint == addr:
                return name
        if not self.public(endpoint[0]):
            return f"{endpoint[0]}:{endpoint[1]}"
        if endpoint not in self.names:
            random = sum(1 for n in self.names.values() if n.startswith("pub:r"))
            self.names[endpoint] = f"pub:{endpoint[1]}" if endpoint[1] == sender_port \
                else f"pub:r{random + 1}"
        return self.names[endpoint]


class World:
    """Where a script is played: resolves targets from what was seen, records outcomes."""

    def __init__(self) -> None:
        self.seen: dict[str, Addr] = {}       # tag -> the endpoint its receiver saw it from
        self.outcomes: dict[str, str] = {}

    def target(self, step: Send) -> Addr | None:
        """Where ``step`` sends to (None: the endpoint it refers to was never seen)."""
        if step.to in SERVERS:
            return SERVERS[step.to]
        seen = self.seen.get(step.to)
        if seen is None:
            return None
        return (seen[0], step.port) if step.port is not None else seen

    def source(self, sender: str) -> Addr:
        """The endpoint ``sender`` sends from."""
        return INSIDE[sender] if sender in INSIDE else SERVERS[sender]

    def play(self, script: Sequence[Send]) -> dict[str, str]:
        """Every step's outcome."""
        for step in script:
            dst = self.target(step)
            self.outcomes[step.tag] = "no target" if dst is None else self.send(step, dst)
        return self.outcomes

    def send(self, step: Send, dst: Addr) -> str:
        """Send one datagram; its outcome (``delivered from NAME``, ``icmp``, ``lost``)."""
        raise NotImplementedError


class ModelWorld(World):
    """The script played on a middlebox model (``now``: real-world seconds, lab times × scale)."""

    def __init__(self, config: Middlebox, scale: TimeScale, times: dict[str, float] | None = None) -> None:
        super().__init__()
        self.scale = scale
        self.model = build_model("router", config, scale)
        self.times = times or {}
        self.clock = 0.0
        public = self.model.public   # type: ignore[attr-defined]
        self.name = Namer(public)

    def send(self, step: Send, dst: Addr) -> str:
        self.clock = self.times.get(step.tag, step.at if step.at is not None else self.clock + 0.01)
        now = self.clock * self.scale.factor
        src = self.source(step.sender)
        action = self.model.handle(Segment(src, dst, "", step.tag, protocol=UDP), step.sender in INSIDE, now)
        if isinstance(action, Drop):
            return "lost"
        out = action.segment
        if out.protocol == ICMP:
            return "icmp"
        assert isinstance(action, Answer | Forward)
        self.seen[step.tag] = out.src
        return f"to {self.name(out.dst, 0)} from {self.name(out.src, src[1])}"

"""What one peer of a hole punch does, as pure state (datagrams in, datagrams out, no sockets, no clock).

The tool (:mod:`.peer`) and the model (:mod:`.model`) drive the same :class:`Puncher`:

1. it sends REGISTER to the rendezvous (again every resend interval) until a PEER answer names the other
   peer's public endpoint (and its own, as the rendezvous saw it);
2. it then sends PUNCH to every endpoint it knows for the peer (:meth:`Puncher.tick`, every punch
   interval) until it has heard from the peer and knows the peer heard it;
3. every PUNCH it receives (from any source, with its session) means it heard the peer: that source
   becomes an endpoint of the peer (a NAT may map the peer's flow to this one elsewhere than to the
   rendezvous: RFC 8445's peer-reflexive candidate), and a PUNCH that does not yet say HEARD is answered
   at once, to where it came from, with one that does; so is the first one that says HEARD (so the
   peer learns it was heard too), and no other, so the exchange ends.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from natsim.probes.punch.messages import HEARD, Address, BadMessage, Message, Op, parse

Send = tuple[bytes, Address]


@dataclass
class Puncher:
    """One peer's state in session ``session`` with the rendezvous at ``rendezvous``."""

    session: int
    rendezvous: Address
    observed: Address | None = None          # its own public endpoint, as the rendezvous saw it
    peer: Address | None = None              # the peer's, as the rendezvous gave it
    targets: list[Address] = field(default_factory=list)
    heard_from: Address | None = None        # where the peer's first PUNCH came from
    acked: bool = False                      # the peer said it heard this one
    punches: int = 0
    received: int = 0
    seq: int = 0

    @property
    def paired(self) -> bool:
        """The rendezvous named the peer."""
        return self.peer is not None

    @property
    def done(self) -> bool:
        """It heard the peer and the peer heard it: no more punches needed."""
        return self.heard_from is not None and self.acked

    def register(self) -> Send:
        """The next REGISTER."""
        self.seq += 1
        return Message(Op.REGISTER, self.session, self.seq).encode(), self.rendezvous

    def tick(self) -> list[Send]:
        """The punches of one interval (none before pairing or once done)."""
        if not self.paired or self.done:
            return []
        return [self._punch(target) for target in self.targets]

    def _punch(self, target: Address) -> Send:
        self.seq += 1
        self.punches += 1
        flags = HEARD if self.heard_from is not None else 0
        return Message(Op.PUNCH, self.session, self.seq, flags).encode(), target

    def on_datagram(self, data: bytes, source: Address) -> list[Send]:
        """Take a datagram from ``source``; what to send at once in answer."""
        try:
            message = parse(data)
        except BadMessage:
            return []
        if message.session != self.session:
            return []
        if message.op is Op.PEER and source == self.rendezvous and message.peer is not None:
            self.observed = message.observed
            if self.peer is None:
                self.peer = message.peer
                self.targets.append(message.peer)
            return []
        if message.op is Op.WAIT and source == self.rendezvous:
            self.observed = message.observed
            return []
        if message.op is not Op.PUNCH:
            return []
        self.received += 1
        if self.heard_from is None:
            self.heard_from = source
        if source not in self.targets:
            self.targets.append(source)
        heard_me = bool(message.flags & HEARD)
        first_ack = heard_me and not self.acked
        self.acked = self.acked or heard_me
        if heard_me and not first_ack:
            return []
        return [self._punch(source)]    # the peer learns that this one heard it (and ends the exchange)

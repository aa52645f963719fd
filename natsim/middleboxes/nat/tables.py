"""natsim's UDP mapping tables: the nftables rules of every NAT behaviour Linux's masquerade is not.

Linux's masquerade keeps an inside endpoint's public port for as long as one of its flows lives
(endpoint-independent mapping), keeps the source port when the flow's own tuple allows it (so two
inside endpoints may share a public port: port overloading) and lets in only the flows' own peers
(address-and-port-dependent filtering). Every other behaviour is rendered with dynamic nftables maps
that the packet path itself fills and refreshes (DESIGN.md: "nftables accepts dynamic maps updated from
the packet path"), all UDP-only:

``map``  mapping key (inside endpoint [. remote address]) → public address . port: a new flow of a
         mapping that lives is SNATed to it (not for address-and-port-dependent mapping: there every
         flow is its own mapping, which conntrack holds);
``own``  public address . port → inside endpoint: who holds a public port. An inbound datagram of a
         live flow whose mapping is gone is refused; endpoint-independent filtering and hairpinning
         DNAT a new inbound flow through it;
``port`` public ports held: a new mapping keeps its source port only when nobody holds it, a random one
         that somebody holds is dropped (no port overloading, RFC 4787 REQ-3);
``perm`` public address . port . remote address [. port] → inside endpoint: whom the inside endpoint
         sent to (address-dependent filtering DNATs through it; address-and-port-dependent filtering
         with one-way refresh checks it).

Each exists twice, ``_u`` and ``_s``: a packet of a flow conntrack holds as a stream (``ct status
assured``) refreshes the ``_s`` copy with the stream timeout, any other packet the ``_u`` copy with the
unreplied one, so an element lives exactly as long as the longest-lived flow that refreshed it, as
conntrack's own entries do. A direction that does not refresh (``refresh``) only creates missing
elements (``add``); the other ``update``\\ s them. Outbound packets are recorded after SNAT
(postrouting, srcnat + 10), inbound ones checked and recorded in the forward chain (after DNAT).
:mod:`natsim.middleboxes.nat.model` keeps the same tables.
"""

from __future__ import annotations

from dataclasses import dataclass

from natsim.middleboxes.nat.behaviour import Dependence, NatBehaviour, Refusal

CLASSES = ("u", "s")
#: ``ct status`` test of the packets that refresh each class.
ASSURED = {"u": "ct status ! assured", "s": "ct status assured"}
#: The mark a randomly mapped packet carries from the NAT chain to the port guard.
RANDOM_MARK = "0x00004e41"
ADDR, PORT = "ipv4_addr", "inet_service"


@dataclass(frozen=True)
class Endpoints:
    """How one kind of packet names the inside endpoint, the public one and the remote one (nft)."""

    inside: str
    public: str
    public_port: str
    remote: str
    remote_address: str


#: Outbound, after SNAT: a flow from the inside, and a reply to one the filter let in.
OUT_ORIGINAL = Endpoints("ct original ip saddr . ct original proto-src", "ip saddr . udp sport", "udp sport",
                         "ip daddr . udp dport", "ip daddr")
OUT_REPLY = Endpoints("ct reply ip saddr . ct reply proto-src", "ip saddr . udp sport", "udp sport",
                      "ip daddr . udp dport", "ip daddr")
#: Hairpinned, after SNAT: the remote is the public endpoint it was sent to.
HAIRPIN = Endpoints("ct original ip saddr . ct original proto-src", "ip saddr . udp sport", "udp sport",
                    "ct original ip daddr . ct original proto-dst", "ct original ip daddr")
#: Inbound, after DNAT: a reply to a flow from the inside, and a flow the filter let in.
IN_REPLY = Endpoints("ip daddr . udp dport", "ct reply ip daddr . ct reply proto-dst", "ct reply proto-dst",
                     "ip saddr . udp sport", "ip saddr")
IN_ORIGINAL = Endpoints("ip daddr . udp dport", "ct original ip daddr . ct original proto-dst",
                        "ct original proto-dst", "ip saddr . udp sport", "ip saddr")


@dataclass(frozen=True)
class Tables:
    """The tables of one behaviour and the rules that keep them."""

    behaviour: NatBehaviour
    timeouts: dict[str, int]          # class → whole kernel seconds

    @property
    def has_map(self) -> bool:
        """Endpoint- and address-dependent mappings are looked up; a per-flow one is conntrack's."""
        return self.behaviour.mapping is not Dependence.APD

    @property
    def has_perm(self) -> bool:
        """Address-dependent filtering DNATs through ``perm``; port-dependent filtering needs it only
        when one direction does not refresh (else conntrack's own entry is the permission)."""
        f = self.behaviour.filtering
        return f is Dependence.AD or (f is Dependence.APD and self.behaviour.refresh.value != "both")

    def mapping_key(self, ends: Endpoints) -> str:
        """The key of the mapping a packet belongs to."""
        if self.behaviour.mapping is Dependence.EI:
            return ends.inside
        return f"{ends.inside} . {ends.remote_address}"

    def filter_key(self, ends: Endpoints) -> str:
        """The key of the permission a packet belongs to."""
        remote = ends.remote_address if self.behaviour.filtering is Dependence.AD else ends.remote
        return f"{ends.public} . {remote}"

    def declarations(self) -> str:
        """The ``map`` and ``set`` declarations."""
        pair = f"{ADDR} . {PORT}"
        remote = f" . {ADDR}" if self.behaviour.mapping is Dependence.AD else ""
        perm_remote = f"{ADDR}" if self.behaviour.filtering is Dependence.AD else f"{ADDR} . {PORT}"
        kinds = [("own", f"{pair} : {pair}")]
        if self.has_map:
            kinds.insert(0, ("map", f"{pair}{remote} : {pair}"))
        if self.has_perm:
            kinds.append(("perm", f"{pair} . {perm_remote} : {pair}"))
        kinds.append(("port", PORT))
        text = ""
        for name, typ in kinds:
            word = "map" if ":" in typ else "set"
            for c in CLASSES:
                text += (f"\t{word} {name}_{c} {{\n\t\ttype {typ}\n\t\tsize 65535\n"
                         "\t\tflags dynamic,timeout\n\t}\n")
        return text

    def _record(self, table: str, key: str, value: str | None, refreshes: bool) -> list[str]:
        """Rules that refresh (``update``) or only create (``add``) ``table``'s element ``key``."""
        rules = []
        for c in CLASSES:
            element = f"{key} timeout {self.timeouts[c]}s" + (f" : {value}" if value else "")
            if refreshes:
                rules.append(f"{ASSURED[c]} update @{table}_{c} {{ {element} }}")
            else:
                rules.append(f"{ASSURED[c]} {key} != @{table}_u {key} != @{table}_s "
                             f"add @{table}_{c} {{ {element} }}")
        return rules

    def record(self, ends: Endpoints, refreshes: bool) -> list[str]:
        """Rules that record the mapping, the port, its holder and the permission of a packet."""
        rules = []
        if self.has_map:
            rules += self._record("map", self.mapping_key(ends), ends.public, refreshes)
        rules += self._record("own", ends.public, ends.inside, refreshes)
        rules += self._record("port", ends.public_port, None, refreshes)
        if self.has_perm:
            rules += self._record("perm", self.filter_key(ends), ends.inside, refreshes)
        return rules

    def refused(self) -> str:
        """The verdict for a datagram no mapping lets in."""
        if self.behaviour.udp_refused is Refusal.ICMP:
            return "reject with icmp port-unreachable"
        return "drop"

    def checks(self, ends: Endpoints) -> list[str]:
        """Inbound: refuse a datagram whose mapping (or permission) is gone though conntrack holds it."""
        rules = [f"{ends.public} != @own_u {ends.public} != @own_s {self.refused()}"]
        if self.has_perm:
            key = self.filter_key(ends)
            rules.append(f"{key} != @perm_u {key} != @perm_s {self.refused()}")
        return rules

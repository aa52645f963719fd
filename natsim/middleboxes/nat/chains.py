"""Where the rules of natsim's UDP mapping tables (:mod:`.tables`) go, chain by chain.

``prerouting`` (nat, dstnat): a new inbound flow the filter lets in, and a hairpinned one, is DNATed
to the inside endpoint that holds the public port. ``snat`` (nat, srcnat, before the TCP masquerade): a
new flow of a live mapping takes its public port; otherwise the source port when nobody holds it
(with port preservation), else a random one, marked. ``recorded`` (filter, srcnat + 10): a marked
random port somebody holds is dropped, then every outbound and hairpinned packet records its mapping.
``forward`` (filter): an inbound datagram of a live flow whose mapping or permission is gone is
refused, then the others record theirs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from natsim.middleboxes.nat.behaviour import Dependence
from natsim.middleboxes.nat.pool import pool_range
from natsim.middleboxes.nat.tables import (
    CLASSES,
    HAIRPIN,
    IN_ORIGINAL,
    IN_REPLY,
    OUT_ORIGINAL,
    OUT_REPLY,
    RANDOM_MARK,
    Tables,
)

UDP = "meta l4proto udp"


@dataclass(frozen=True)
class Placement:
    """Interface matches and what is translated to what."""

    from_inside: str          # iifname { ... }
    from_outside: str
    to_inside: str            # oifname { ... }
    to_outside: str
    inside: str               # the translated prefix
    pool: str | None          # None: masquerade
    port_range: tuple[int, int] | None


@dataclass
class Chains:
    """Rules per chain (each a list of nft rule texts)."""

    prerouting: list[str] = field(default_factory=list)
    snat: list[str] = field(default_factory=list)
    recorded: list[str] = field(default_factory=list)
    forward: list[str] = field(default_factory=list)


def _address(pool: str) -> str:
    first, last = pool_range(pool)
    return first if first == last else f"{first}-{last}"


def _snat(place: Placement, keep_port: bool, hairpin: bool) -> str:
    """The SNAT statement of a new mapping: keeping the source port, or a random one."""
    lo_hi = f"{place.port_range[0]}-{place.port_range[1]}" if place.port_range else ""
    port = "udp sport" if keep_port else lo_hi
    flags = [] if keep_port else ["random"]
    if place.pool is not None:
        first, last = pool_range(place.pool)
        if first != last:
            flags.append("persistent")
        target = f"snat ip to {_address(place.pool)}" + (f" : {port}" if port else "")
    elif hairpin:   # back out of an inside interface: masquerade would take that interface's address
        target = "snat ip to ct original ip daddr" + (f" : {port}" if port else "")
    else:
        target = "masquerade" + (f" to :{port}" if port else "")
    return target + (" " + ",".join(flags) if flags else "")


def _allocation(t: Tables, place: Placement, match: str, hairpin: bool) -> list[str]:
    """NAT-chain rules for a new UDP flow selected by ``match``."""
    rules = []
    if t.has_map:
        remote = "ct original ip daddr" if hairpin else "ip daddr"   # after DNAT: the public endpoint
        key = "ip saddr . udp sport" + (f" . {remote}" if t.behaviour.mapping is Dependence.AD else "")
        rules += [f"{match} snat ip to {key} map @map_{c}" for c in reversed(CLASSES)]
    if t.behaviour.port_preservation:
        in_range = f" udp sport {place.port_range[0]}-{place.port_range[1]}" if place.port_range else ""
        rules.append(f"{match} udp sport != @port_u udp sport != @port_s{in_range} "
                     f"{_snat(place, True, hairpin)}")
    rules.append(f"{match} meta mark set {RANDOM_MARK} {_snat(place, False, hairpin)}")
    return rules


def _dnat(table: str, key: str, match: str) -> list[str]:
    return [f"{match} {UDP} dnat ip to {key} map @{table}_{c}" for c in reversed(CLASSES)]


def chains(t: Tables, place: Placement) -> Chains:
    """Every rule of ``t``'s tables, by chain."""
    b = t.behaviour
    out = Chains()
    if b.filtering is Dependence.EI:
        out.prerouting += _dnat("own", "ip daddr . udp dport", place.from_outside)
    elif b.filtering is Dependence.AD:
        out.prerouting += _dnat("perm", "ip daddr . udp dport . ip saddr", place.from_outside)
    if b.hairpinning:
        out.prerouting += _dnat("own", "ip daddr . udp dport", place.from_inside)
    outbound = f"{place.to_outside} ip saddr {place.inside} {UDP}"
    out.snat += _allocation(t, place, outbound, hairpin=False)
    if b.hairpinning:
        out.snat += _allocation(t, place, f"{place.from_inside} {place.to_inside} ct status dnat {UDP}",
                                hairpin=True)
    sent = f"{place.to_outside} {UDP}"
    out.recorded += [f"{sent} meta mark {RANDOM_MARK} udp sport @port_{c} drop" for c in CLASSES]
    if b.hairpinning:
        hairpinned = f"{place.from_inside} {place.to_inside} {UDP}"
        out.recorded += [f"{hairpinned} meta mark {RANDOM_MARK} udp sport @port_{c} drop" for c in CLASSES]
        out.recorded += [f"{hairpinned} ct direction original ct status snat {rule}"
                         for rule in t.record(HAIRPIN, b.refresh.outbound)]
    for ends, status in ((OUT_ORIGINAL, "ct direction original ct status snat"),
                         (OUT_REPLY, "ct direction reply ct status dnat")):
        out.recorded += [f"{sent} {status} {rule}" for rule in t.record(ends, b.refresh.outbound)]
    received = f"{place.from_outside} {UDP}"
    for ends, status in ((IN_REPLY, "ct direction reply ct status snat"),
                         (IN_ORIGINAL, "ct direction original ct status dnat")):
        out.forward += [f"{received} {status} {rule}" for rule in t.checks(ends)]
        if b.refresh.inbound:
            out.forward += [f"{received} {status} {rule}" for rule in t.record(ends, True)]
    return out

"""A NAT's behaviour in RFC 4787's terms: one record, read by the nftables render and the model.

:class:`NatBehaviour` holds what a NAT does beyond its addresses: how it maps an inside endpoint
(``mapping``), whom it lets send back (``filtering``), whether inside hosts reach each other through
their public mappings (``hairpinning``), how it picks a public port (``port_preservation``,
``port_overloading``), which direction keeps a mapping alive (``refresh``) and what a refused inbound
UDP datagram meets (``udp_refused``). Every NAT kind's config subclasses it, so its settings are
declared once (:mod:`natsim.fields`): the loader, ``--set``, the schema, ``describe()`` and the tables
in ``docs/middleboxes.md`` come from these declarations; ``config.behaviour()`` returns the record
itself. Mapping, filtering, refresh and hairpinning apply to UDP; TCP keeps Linux's connection
tracking and never lets a new connection in (see ``docs/middleboxes.md``).

Two ways to render it (:mod:`.render`): Linux's plain masquerade when the behaviour is exactly what it
does (:meth:`NatBehaviour.plain`), natsim's mapping tables otherwise (:mod:`.tables`).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, fields

from natsim.errors import ConfigError
from natsim.fields import Settings, choice_field, plain_field


class Dependence(enum.StrEnum):
    """On what of the remote endpoint a mapping or a filter depends (RFC 4787 section 4.1, 5)."""

    EI = "endpoint-independent"             # none: one mapping / anyone may send back
    AD = "address-dependent"                # the remote address
    APD = "address-and-port-dependent"      # the remote address and port

    @property
    def short(self) -> str:
        """``EI``, ``AD`` or ``APD``: what RFC 4787 writes before ``M`` (mapping) or ``F`` (filtering)."""
        return self.name


class Refresh(enum.StrEnum):
    """Which packets keep a mapping alive (RFC 4787 REQ-6: outbound ones must)."""

    OUTBOUND = "outbound"   # only packets from the inside
    INBOUND = "inbound"     # only packets from the outside (violates REQ-6; for conformance tests)
    BOTH = "both"           # every packet of the mapping (Linux)

    @property
    def outbound(self) -> bool:
        """Whether a packet from the inside refreshes."""
        return self is not Refresh.INBOUND

    @property
    def inbound(self) -> bool:
        """Whether a packet from the outside refreshes."""
        return self is not Refresh.OUTBOUND


class Refusal(enum.StrEnum):
    """What an inbound UDP datagram that no mapping lets in meets."""

    SILENT = "silent"                       # dropped
    ICMP = "icmp-unreachable"               # answered with ICMP port unreachable (Linux's own stack)


#: The names people give the four classic mapping × filtering pairs (RFC 3489).
CLASSIC = {(Dependence.EI, Dependence.EI): "full cone",
           (Dependence.EI, Dependence.AD): "restricted cone",
           (Dependence.EI, Dependence.APD): "port-restricted cone",
           (Dependence.APD, Dependence.APD): "symmetric"}


@dataclass(frozen=True)
class NatBehaviour(Settings):
    """What a NAT does with UDP beyond its addresses (RFC 4787); defaults: what Linux's masquerade does."""

    mapping: Dependence = choice_field(
        Dependence.EI, "what a mapping of an inside endpoint depends on: one public port for every "
        "destination, one per destination address, or one per destination address and port (UDP)",
        Dependence)
    filtering: Dependence = choice_field(
        Dependence.APD, "who may send to a mapping from outside: anyone, the addresses the inside endpoint "
        "sent to, or only the address and port it sent to (UDP)", Dependence)
    hairpinning: bool = plain_field(
        False, "an inside host reaches another inside endpoint through its public mapping, seen from the "
        "sender's own public mapping (UDP; RFC 4787 REQ-9)", "bool")
    port_preservation: bool = plain_field(True, "keep the inside endpoint's source port when free", "bool")
    port_overloading: bool | None = plain_field(
        None, "keep a source port even when another inside endpoint holds it towards other destinations, "
        "as Linux's masquerade does (RFC 4787 REQ-3 forbids it)", "bool", optional=True,
        unset="as Linux's masquerade when the rest is its default")
    refresh: Refresh = choice_field(
        Refresh.BOTH, "which packets keep a UDP mapping alive (RFC 4787 REQ-6)", Refresh)
    udp_refused: Refusal = choice_field(
        Refusal.ICMP, "what an inbound UDP datagram no mapping lets in meets (an expired or unknown flow, "
        "or one the filter refuses)", Refusal)

    def behaviour(self) -> NatBehaviour:
        """The behaviour record alone (the render and the model read it)."""
        return NatBehaviour(**{f.name: getattr(self, f.name) for f in fields(NatBehaviour)})

    def plain(self) -> bool:
        """Whether Linux's plain masquerade is this behaviour (no mapping tables are needed):
        endpoint-independent mapping with port preservation and overloading, or a fresh random port per
        flow; address-and-port-dependent filtering, refreshed both ways, no hairpinning."""
        linux = (self.filtering is Dependence.APD and self.refresh is Refresh.BOTH and not self.hairpinning)
        if self.port_preservation:
            return linux and self.mapping is Dependence.EI and self.port_overloading is not False
        return linux and self.mapping is Dependence.APD and not self.port_overloading

    def check(self, prefix: str = "") -> None:
        """Refuse what natsim cannot render faithfully, with the reason (:class:`ConfigError`)."""
        if self.port_overloading and not self.plain():
            what = "port_preservation: false" if not self.port_preservation else self.departures()
            raise ConfigError(
                f"{prefix}port_overloading: true is Linux's plain masquerade (endpoint-independent mapping, "
                f"address-and-port-dependent filtering, refresh both, no hairpinning, port preservation); "
                f"with {what} natsim renders mapping tables, which keep one inside endpoint per public "
                "port: leave port_overloading unset or false")

    def departures(self) -> str:
        """The settings that differ from Linux's plain masquerade, as ``name: value`` text."""
        plain = NatBehaviour()
        changed = [f"{f.name}: {_text(getattr(self, f.name))}" for f in fields(NatBehaviour)
                   if f.name not in ("port_overloading", "udp_refused", "port_preservation")
                   and getattr(self, f.name) != getattr(plain, f.name)]
        return ", ".join(changed)

    def classic(self) -> str:
        """The classic name of the mapping × filtering pair, or ``''`` when it has none."""
        return CLASSIC.get((self.mapping, self.filtering), "")

    @property
    def label(self) -> str:
        """``EIM/APDF`` style short form, with the classic name when there is one."""
        short = f"{self.mapping.short}M/{self.filtering.short}F"
        return f"{short} ({self.classic()})" if self.classic() else short


#: One line per value of each behaviour setting (docs/middleboxes.md's generated table).
MEANINGS: dict[tuple[str, object], str] = {
    ("mapping", Dependence.EI): "EIM: one public port per inside endpoint, whatever the destination",
    ("mapping", Dependence.AD): "ADM: one public port per inside endpoint and destination address",
    ("mapping", Dependence.APD): "APDM: one public port per flow (destination address and port)",
    ("filtering", Dependence.EI): "EIF: anyone may send to a mapping",
    ("filtering", Dependence.AD): "ADF: only addresses the inside endpoint sent to, from any port",
    ("filtering", Dependence.APD): "APDF: only the address and port the inside endpoint sent to",
    ("hairpinning", True): "an inside host reaches a mapping from the inside, seen from its own mapping",
    ("hairpinning", False): "a datagram from the inside to a public address meets `udp_refused`",
    ("port_preservation", True): "a new mapping keeps the inside port when nobody holds it",
    ("port_preservation", False): "a new mapping takes a random port (nobody's, with natsim's tables)",
    ("port_overloading", True): "Linux's masquerade: the inside port is kept even when another inside "
                                "endpoint holds it towards other destinations (RFC 4787 REQ-3: MUST NOT)",
    ("port_overloading", False): "one inside endpoint per public port (natsim's tables)",
    ("refresh", Refresh.OUTBOUND): "only datagrams from the inside keep a mapping alive",
    ("refresh", Refresh.INBOUND): "only datagrams from the outside do (violates RFC 4787 REQ-6); the "
                                  "inside's only create a mapping that is gone",
    ("refresh", Refresh.BOTH): "every datagram of the mapping does (Linux)",
    ("udp_refused", Refusal.SILENT): "dropped",
    ("udp_refused", Refusal.ICMP): "answered with ICMP port unreachable from the NAT's public address",
}


def values_table() -> str:
    """Every value of every behaviour setting, one line each, with the classic names of the filtering
    values (the mapping is endpoint-independent) and of symmetric NAT."""
    classic: dict[tuple[str, object], str] = {
        ("filtering", f): f"{CLASSIC[(Dependence.EI, f)]} (with EIM)" for f in Dependence}
    classic[("mapping", Dependence.APD)] = "symmetric (with APDF)"
    lines = ["| setting | value | what it does | classic name |", "| --- | --- | --- | --- |"]
    for (name, value), text in MEANINGS.items():
        lines.append(f"| `{name}` | `{_text(value)}` | {text} | {classic.get((name, value), '')} |")
    return "\n".join(lines) + "\n"


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value.value if isinstance(value, enum.Enum) else value)

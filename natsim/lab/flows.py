"""A node's connection-tracking table: what ``natsim watch`` shows.

Read with conntrack-tools' ``conntrack -L -o xml`` in the node and parsed with the standard library's
XML parser: every field is an element or attribute of its own (the text formats put protocol-specific
words in varying places), and an element natsim does not know is ignored. The kernel's
remaining time (``timeout``) is in whole lab seconds.

A flow's *mapping* is what NAT made of it: the reply direction is addressed to the translated source
(``reply.dst`` differs from ``original.src``: source NAT, e.g. inside 192.0.2.10:40000 -> public
198.51.100.1:40000) and comes from the translated destination (``reply.src`` differs from
``original.dst``: destination NAT, a redirect).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass

from natsim.errors import LabError
from natsim.lab.join import run_captured
from natsim.lab.kept import KeptLab


@dataclass(frozen=True, order=True)
class Endpoint:
    """An address and, for protocols with ports, a port."""

    address: str
    port: int | None = None

    def __str__(self) -> str:
        return self.address if self.port is None else f"{self.address}:{self.port}"


@dataclass(frozen=True, order=True)
class Direction:
    """One direction of a flow: from ``src`` to ``dst``."""

    src: Endpoint
    dst: Endpoint

    def __str__(self) -> str:
        return f"{self.src} -> {self.dst}"


@dataclass(frozen=True)
class Flow:
    """One conntrack entry."""

    protocol: str                 # tcp, udp, icmp, ... ("unknown" for what conntrack does not name)
    state: str                    # the TCP state (ESTABLISHED, ...); "" for protocols without one
    timeout: int                  # whole lab seconds until the kernel removes it, unless a packet comes
    original: Direction
    reply: Direction
    flags: tuple[str, ...] = ()   # assured, unreplied
    id: str = ""

    @property
    def source_nat(self) -> Endpoint | None:
        """The public endpoint the inside source was mapped to (None: not translated)."""
        return self.reply.dst if self.reply.dst != self.original.src else None

    @property
    def destination_nat(self) -> Endpoint | None:
        """The endpoint the destination was redirected to (None: not translated)."""
        return self.reply.src if self.reply.src != self.original.dst else None

    @property
    def condition(self) -> str:
        """The TCP state, else what the flags say (UNREPLIED, ASSURED) or "-"."""
        if self.state:
            return self.state
        for flag in ("unreplied", "assured"):
            if flag in self.flags:
                return flag.upper()
        return "-"


def _direction(meta: ET.Element) -> Direction:
    layer3, layer4 = meta.find("layer3"), meta.find("layer4")

    def endpoint(address: str, port: str) -> Endpoint:
        text = layer4.findtext(port) if layer4 is not None else None
        return Endpoint((layer3.findtext(address) if layer3 is not None else None) or "?",
                        int(text) if text and text.strip().isdigit() else None)

    return Direction(endpoint("src", "sport"), endpoint("dst", "dport"))


def _flow(element: ET.Element) -> Flow:
    metas = {meta.get("direction", ""): meta for meta in element.findall("meta")}
    original, reply = metas.get("original"), metas.get("reply")
    if original is None or reply is None:
        raise ValueError("a flow without its original or reply direction")
    layer4 = original.find("layer4")
    independent = metas.get("independent", ET.Element("meta"))
    timeout = (independent.findtext("timeout") or "0").strip()
    return Flow(protocol=(layer4.get("protoname") if layer4 is not None else None) or "?",
                state=(independent.findtext("state") or "").strip(),
                timeout=int(timeout) if timeout.isdigit() else 0,
                original=_direction(original), reply=_direction(reply),
                flags=tuple(flag for flag in ("assured", "unreplied") if independent.find(flag) is not None),
                id=(independent.findtext("id") or "").strip())


def parse(text: str) -> list[Flow]:
    """The flows in ``conntrack -L -o xml`` output (empty output: none); :class:`LabError` when it is
    not that."""
    if not text.strip():
        return []
    try:
        root = ET.fromstring(text)
        return [_flow(element) for element in root.iter("flow")]
    except (ET.ParseError, ValueError) as err:
        raise LabError(f"conntrack printed something natsim cannot read ({err}): {text[:200]!r}") from err


def read(lab: KeptLab, node: str) -> list[Flow]:
    """The flows in ``node`` of the kept ``lab`` now (``conntrack -L -o xml`` run there)."""
    done = run_captured(lab, node, ["conntrack", "-L", "-o", "xml"], timeout=10.0)
    if done.returncode != 0:
        raise LabError(f"lab {lab.name}: `conntrack -L` in {node} failed ({done.returncode}): "
                       f"{done.stderr.strip()[:300]}")
    return parse(done.stdout)

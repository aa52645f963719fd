"""A hole punch's result in natsim's schema (pure), the same for the tool, the lab driver and the model.

Each peer's tool reports one connection: ``alive`` when a PUNCH from the peer reached it (the hole is
open towards it), ``dead`` when none did before its punching time ran out (``how``: ``punch``), or when
the rendezvous never named a peer (``how``: ``rendezvous``). A scenario's probe joins both peers'
connections, the client's first: ``punched`` is true when both are alive.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from natsim.probes.punch.messages import Address, show
from natsim.probes.punch.puncher import Puncher
from natsim.report.schema import ConnectionResult, ProbeResult, Verdict
from natsim.units import format_duration

#: How an endpoint is shown (the model shows its NATs' labels: :class:`~natsim.probes.aliases.Aliases`).
Shown = Callable[[Address | None], str]


def side(puncher: Puncher, *, index: int, label: str, elapsed: float | None, waited: float,
         shown: Shown = show) -> ConnectionResult:
    """One peer's connection: ``elapsed`` real-world seconds from its start to the first PUNCH it heard
    (None: none), ``waited`` how long it punched (or waited for a peer)."""
    if not puncher.paired and puncher.heard_from is None:
        return ConnectionResult(index, 0.0, Verdict.DEAD, "rendezvous", None,
                                f"the rendezvous {shown(puncher.rendezvous)} named no peer within "
                                f"{format_duration(waited)}", label=label)
    if puncher.heard_from is None:
        return ConnectionResult(index, 0.0, Verdict.DEAD, "punch", None,
                                f"nothing from the peer at {shown(puncher.peer)} in "
                                f"{format_duration(waited)} ({puncher.punches} punches sent)", label=label)
    acked = "; the peer heard it" if puncher.acked else "; no word that the peer heard it"
    return ConnectionResult(index, 0.0, Verdict.ALIVE, "punch", elapsed,
                            f"heard the peer from {shown(puncher.heard_from)} (the rendezvous said "
                            f"{shown(puncher.peer)}){acked}", label=label)


def findings(puncher: Puncher, shown: Shown = show) -> dict[str, Any]:
    """What one peer learnt (its tool's ``extra``)."""
    return {"public": shown(puncher.observed), "peer": shown(puncher.peer),
            "heard_from": shown(puncher.heard_from), "acked": puncher.acked, "punches": puncher.punches}


def joined(name: str, kind: str, target: str, node: str | None, sides: list[ProbeResult]) -> ProbeResult:
    """A scenario's probe from both peers' results (the client's first), connections numbered 0 and 1."""
    connections = []
    for index, result in enumerate(sides):
        conn = result.connections[0]
        connections.append(ConnectionResult(index, conn.idle, conn.verdict, conn.how, conn.elapsed,
                                            conn.detail, conn.explanation, conn.label, conn.local))
    punched = len(connections) == 2 and all(c.verdict is Verdict.ALIVE for c in connections)
    extra: dict[str, Any] = {"punched": punched}
    for result, conn in zip(sides, connections, strict=True):
        extra[conn.label or str(conn.index)] = dict(result.extra)
    return ProbeResult(name=name, kind=kind, target=target, node=node, connections=connections, extra=extra,
                       complete=all(r.complete for r in sides))

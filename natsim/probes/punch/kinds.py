"""The ``hole-punch`` probe: every fact of the kind, once.

Its tool is ``natsim probe hole-punch`` (:mod:`.cli`), run on both peers; the service it talks to is the
rendezvous of ``natsim serve --rendezvous`` (:mod:`natsim.probes.serve`, wire format in :mod:`.messages`).
"""

from natsim.later import later
from natsim.probes.punch.messages import RENDEZVOUS
from natsim.probes.punch.options import HolePunchOptions
from natsim.probes.registry import ProbeKind, ProbeTool

#: What the tool's ``--help`` adds to its kind's summary.
DESCRIPTION = ("Run it on both peers with the same --session; each registers with the rendezvous "
               "(`natsim serve --rendezvous`) from one UDP port, learns the other's public endpoint and "
               "punches towards it. Durations are real-world; the lab waits duration/--time-scale.")

HOLE_PUNCH = ProbeKind(
    # driver, model and tool imported when used (natsim.later)
    HolePunchOptions.kind, HolePunchOptions, later("natsim.probes.punch.driver:driver"),
    model=later("natsim.probes.punch.model:model"), service=RENDEZVOUS,
    tool=ProbeTool(HolePunchOptions.kind, later("natsim.probes.punch.cli:build"), DESCRIPTION),
    summary="UDP hole punching: two peers meet at a rendezvous and punch towards each other's public "
            "endpoint (both hear each other: punched)")

__all__ = ["HOLE_PUNCH"]

"""The ``hole-punch`` probe: every fact of the kind, once.

Its tool is ``natsim probe hole-punch`` (:mod:`.cli`), run on both peers; the service it talks to is the
rendezvous of ``natsim serve --rendezvous`` (:mod:`natsim.probes.serve`, wire format in :mod:`.messages`).
"""

from natsim.probes.punch import cli
from natsim.probes.punch.driver import driver
from natsim.probes.punch.messages import RENDEZVOUS
from natsim.probes.punch.model import model
from natsim.probes.punch.options import HolePunchOptions
from natsim.probes.registry import ProbeKind, ProbeTool

HOLE_PUNCH = ProbeKind(
    HolePunchOptions.kind, HolePunchOptions, driver, model=model, service=RENDEZVOUS,
    tool=ProbeTool(HolePunchOptions.kind, cli.build, cli.DESCRIPTION),
    summary="UDP hole punching: two peers meet at a rendezvous and punch towards each other's public "
            "endpoint (both hear each other: punched)")

__all__ = ["HOLE_PUNCH"]

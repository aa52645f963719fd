"""The ``nat-type`` probe: every fact of the kind, once.

Its tool is ``natsim probe nat-type`` (:mod:`.cli`); the service it talks to is the STUN server of
``natsim serve --stun`` (:mod:`natsim.probes.serve`, wire behaviour in ``docs/stun.md``).
"""

from natsim.later import later
from natsim.probes.registry import ProbeKind, ProbeTool
from natsim.probes.stun.options import NatTypeOptions
from natsim.probes.stun.ports import STUN

#: What the tool's ``--help`` adds to its kind's summary.
DESCRIPTION = ("Mapping, filtering, hairpinning and (with --lifetime-max) binding lifetime, by the RFC 5780 "
               "tests against an RFC 5780 STUN server (`natsim serve --stun`, coturn, ...). Durations are "
               "real-world; the lab waits duration/--time-scale.")


NAT_TYPE = ProbeKind(
    NatTypeOptions.kind, NatTypeOptions, later("natsim.probes.stun.driver:driver"),
    # imported when used (natsim.later); the model speaks STUN with aioice's codec, kept out of start-up
    model=later("natsim.probes.stun.model:model"), service=STUN,
    tool=ProbeTool(NatTypeOptions.kind, later("natsim.probes.stun.cli:build"), DESCRIPTION),
    summary="RFC 5780 NAT type: mapping, filtering, hairpinning, binding lifetime (STUN)")

__all__ = ["NAT_TYPE"]

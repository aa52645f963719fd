"""The ``nat-type`` probe: every fact of the kind, once.

Its tool is ``natsim probe nat-type`` (:mod:`.cli`); the service it talks to is the STUN server of
``natsim serve --stun`` (:mod:`natsim.probes.serve`, wire behaviour in ``docs/stun.md``).
"""

from natsim.probes.registry import ProbeKind, ProbeTool
from natsim.probes.stun import cli
from natsim.probes.stun.driver import driver
from natsim.probes.stun.model import model
from natsim.probes.stun.options import NatTypeOptions
from natsim.probes.stun.ports import STUN

NAT_TYPE = ProbeKind(
    NatTypeOptions.kind, NatTypeOptions, driver, model=model, service=STUN,
    tool=ProbeTool(NatTypeOptions.kind, cli.build, cli.DESCRIPTION),
    summary="RFC 5780 NAT type: mapping, filtering, hairpinning, binding lifetime (STUN)")

__all__ = ["NAT_TYPE"]

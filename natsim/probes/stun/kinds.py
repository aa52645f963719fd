"""The ``nat-type`` probe: every fact of the kind, once.

Its tool is ``natsim probe nat-type`` (:mod:`.cli`); the service it talks to is the STUN server of
``natsim serve --stun`` (:mod:`natsim.probes.serve`, wire behaviour in ``docs/stun.md``).
"""

from typing import Any

from natsim.probes.registry import ProbeKind, ProbeModel, ProbeTool
from natsim.probes.stun import cli
from natsim.probes.stun.driver import driver
from natsim.probes.stun.options import NatTypeOptions
from natsim.probes.stun.ports import STUN


def model(world: Any, spec: Any) -> ProbeModel:
    """The kind's model (:mod:`.model`), imported when a simulation builds it: the model speaks STUN
    with aioice's codec, which stays out of every ``natsim`` start-up."""
    from natsim.probes.stun.model import model as build

    return build(world, spec)


NAT_TYPE = ProbeKind(
    NatTypeOptions.kind, NatTypeOptions, driver, model=model, service=STUN,
    tool=ProbeTool(NatTypeOptions.kind, cli.build, cli.DESCRIPTION),
    summary="RFC 5780 NAT type: mapping, filtering, hairpinning, binding lifetime (STUN)")

__all__ = ["NAT_TYPE"]

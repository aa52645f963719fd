"""simpy models of natsim's middleboxes, TCP endpoints, SSH and probes; ``predict(scenario)``.

Every time is a real-world second. Start at :func:`natsim.sim.predict.predict`; ``docs/model.md``
states what is modelled and what is assumed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from natsim.report.schema import RunResult


def predict(scenario: Any, seed: int = 0, *, as_lab: bool = True) -> RunResult:
    """See :func:`natsim.sim.predict.predict`."""
    from natsim.sim.predict import predict as _predict
    return _predict(scenario, seed, as_lab=as_lab)


__all__ = ["predict"]

"""``natsim serve``: the probe server (:mod:`natsim.probes.serve`, also ``python -m natsim.probes serve``)."""

from natsim.probes.serve import register

__all__ = ["register"]

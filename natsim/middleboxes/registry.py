"""The middlebox registry: kind name → :class:`MiddleboxKind` (config, render, model, runtime, policy).

Kinds are found through the ``natsim.middleboxes`` entry-point group, natsim's own included (see
``pyproject.toml``), so an installed package adds a kind exactly as natsim does: it names a
``MiddleboxKind`` object in its own entry points. Nothing here knows a kind by name: everything code
outside a kind asks about it is an attribute of its :class:`MiddleboxKind`, and what its simpy model
can do besides handling segments is declared by the model (:mod:`natsim.middleboxes.abilities`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from natsim.fields import config_from_mapping
from natsim.labview import RunningLab
from natsim.middleboxes.base import Middlebox, RenderContext, Rendered
from natsim.middleboxes.conntrack.policy import ConntrackPolicy
from natsim.plugins import find_kind, load_kinds
from natsim.sim.network import MiddleboxModel
from natsim.units import TimeScale

#: The entry-point group kinds register in.
GROUP = "natsim.middleboxes"

Render = Callable[[Any, RenderContext], Rendered]
ModelFactory = Callable[[str, Any, TimeScale, int], MiddleboxModel]
#: ``runtime(config, lab, node, workdir)`` starts what the middlebox runs besides its ruleset.
Runtime = Callable[[Any, RunningLab, str, Path], Any]
#: ``policy(config)``: the conntrack policy table of a stateful kind's config.
Policy = Callable[[Any], ConntrackPolicy]
#: ``backends(config)``: the addresses of the hosts that serve connections addressed to the node.
Backends = Callable[[Any], tuple[str, ...]]


@dataclass(frozen=True)
class MiddleboxKind:
    """One middlebox kind. The lab (``render``) and the model (``model``) read the same config object.

    ``policy``: a stateful kind's policy table (the same table its render and model read; None: the
    kind tracks no connection). ``terminates_tcp``: an L7 proxy, a TCP connection may end inside it
    (the packet analysis stops following it there). ``runtime``: what it runs besides its ruleset.
    ``backends``: a kind whose node fronts other hosts (a load balancer's virtual IP): the addresses of
    the hosts that serve what is addressed to the node, where a probe's lab driver starts its servers.
    ``summary``: one line for ``natsim list``.
    """

    name: str
    config: type[Any]         # frozen dataclass, fields declared with natsim.fields helpers
    render: Render            # config placed at a node -> kernel state (pure)
    model: ModelFactory       # (node, config, time scale, seed) -> simpy model
    summary: str = ""
    runtime: Runtime | None = None
    policy: Policy | None = None
    terminates_tcp: bool = False
    backends: Backends | None = None

    def __post_init__(self) -> None:
        if getattr(self.config, "kind", None) != self.name:
            raise TypeError(f"middlebox kind {self.name!r}: its config class {self.config.__name__} "
                            f"says kind={getattr(self.config, 'kind', None)!r}")

    def idle_timeouts(self, config: Any) -> list[float]:
        """The idle timeouts of ``config`` worth drawing on a survival plot (real-world seconds): a
        stateful kind's established timeout, none for a kind that tracks no connection."""
        return [] if self.policy is None else [self.policy(config).established]


@functools.cache
def _registered() -> dict[str, MiddleboxKind]:
    return load_kinds(GROUP, MiddleboxKind, "middlebox kind")


def kinds() -> dict[str, MiddleboxKind]:
    """Every registered kind, by name."""
    return dict(_registered())


def kind(name: str) -> MiddleboxKind:
    """The kind called ``name``; :class:`ConfigError` with the closest name when unknown."""
    return find_kind(_registered(), name, "middlebox kind")


def config_class(name: str) -> type[Any]:
    """The config class of kind ``name``."""
    return kind(name).config


def build_config(name: str, values: Mapping[str, Any], *, prefix: str = "") -> Middlebox:
    """Parse user ``values`` (YAML or ``--set``) into the config of kind ``name``."""
    return config_from_mapping(config_class(name), values, prefix=prefix)  # type: ignore[no-any-return]


def render(config: Middlebox, ctx: RenderContext) -> Rendered:
    """The kernel state of ``config`` placed at ``ctx`` (its kind's render)."""
    return kind(config.kind).render(config, ctx)


def build_model(node: str, config: Middlebox, scale: TimeScale, seed: int = 0) -> MiddleboxModel:
    """The simpy model of ``config`` at ``node``, with the lab's time scale (whole kernel seconds,
    unscaled timers) and ``seed`` for its random choices."""
    return kind(config.kind).model(node, config, scale, seed)

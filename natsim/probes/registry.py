"""The probe registry: kind name → :class:`ProbeKind` (options, lab driver, model, tool, service).

Kinds are found through the ``natsim.probes`` entry-point group, natsim's own included (see
``pyproject.toml``): an installed package adds a probe kind exactly as natsim does, ``natsim probe``
subcommand included. Everything code outside a kind asks about it is an attribute of its
:class:`ProbeKind`; optional abilities of its objects are declared (:class:`PartialResults`).
"""

from __future__ import annotations

import argparse
import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from natsim.plugins import find_kind, load_kind, load_kinds
from natsim.probes.options import ProbeOptions, UserCodeReader
from natsim.probes.service import Service
from natsim.probes.tally import Tally
from natsim.report.schema import ProbeResult

__all__ = ["GROUP", "Handle", "PartialResults", "ProbeKind", "ProbeModel", "ProbeTool", "ScaleLimit",
           "Service", "check_tool_names", "kind", "kind_alone", "kinds", "options_of"]

#: The entry-point group probe kinds register in.
GROUP = "natsim.probes"


class Handle(Protocol):
    """A probe started in the lab."""

    def wait(self, timeout: float | None = None) -> ProbeResult:
        """Block until the probe ends; its result."""
        ...

    def stop(self) -> None:
        """Stop it early (what it measured so far is kept where it can be)."""
        ...

    def progress(self) -> Tally:
        """Connections tested so far, of how many (asked while it runs, from another thread)."""
        ...


@runtime_checkable
class PartialResults(Protocol):
    """A :class:`Handle` that can hand back what a stopped probe measured (an optional ability)."""

    def partial(self) -> ProbeResult | None:
        """The result written before it stopped (unfinished connections ``skipped``), or None."""
        ...


class ProbeModel(Protocol):
    """A probe's model: started before the simulation runs, asked for its result after."""

    def start(self) -> None:
        """Start its processes."""
        ...

    def result(self) -> ProbeResult:
        """Its result in the shared schema."""
        ...


#: ``driver(ctx, spec) -> Handle``: start the probe in the lab (ctx: a ``DriverContext``).
Driver = Callable[[Any, Any], Handle]
#: ``model(world, spec) -> ProbeModel``: the probe in the simulation.
ModelFactory = Callable[[Any, Any], ProbeModel]
#: ``build(parser, kind) -> run``: add a tool's own flags to its ``natsim probe`` parser (the kind's
#: options, ``--time-scale`` and the result flags are added for every tool) and return what runs it,
#: ``run(args) -> exit code``.
ToolBuilder = Callable[[argparse.ArgumentParser, "ProbeKind"], Callable[[argparse.Namespace], int]]


@dataclass(frozen=True)
class ProbeTool:
    """A kind's command-line tool, for real networks and labs alike: ``natsim probe NAME`` (and
    ``python -m natsim.probes NAME``, what lab nodes run). ``description`` adds to the kind's summary
    in ``--help``."""

    name: str
    build: ToolBuilder
    description: str = ""


@dataclass(frozen=True)
class ScaleLimit:
    """The highest time scale at which a kind's lab verdicts stay exact on this kernel, and why
    (``natsim run`` refuses a scenario above it: docs/scenarios.md, "How fast a lab can run")."""

    factor: float
    reason: str
    #: Whether a probe's options stay exact above ``factor`` all the same (e.g. every keepalive time a
    #: whole number of lab seconds at that scale); None: never.
    exact_above: Callable[[Any, float], bool] | None = None


@dataclass(frozen=True)
class ProbeKind:
    """One probe kind: its options (the one declaration), how the lab runs it, how the model predicts
    it (``unmodelled`` says why a kind has none, e.g. a user's own program), its command-line tool,
    the service it talks to (None: its options choose, e.g. an SSH backend) and a one-line summary
    (``natsim list``, ``natsim probe --help``). ``user_code``, when the kind has that ability, says
    what code of the scenario author's choosing a probe's options would run in the lab
    (:mod:`natsim.trust` refuses such a scenario without ``--trust``); a kind without it runs only
    natsim's own code, whatever its options. ``scale_limit``: the highest time scale its lab verdicts
    stay exact at (None: none known). ``conntrack_states``: the conntrack states whose timeouts its
    verdicts depend on (None: any); a middlebox timer of no other state need not scale exactly
    (:mod:`natsim.scenario_scaling` rounds it up and says so)."""

    name: str
    options: type[ProbeOptions]
    driver: Driver
    model: ModelFactory | None = None
    unmodelled: str = ""
    summary: str = ""
    tool: ProbeTool | None = None
    service: Service | None = None
    user_code: UserCodeReader | None = None
    scale_limit: ScaleLimit | None = None
    conntrack_states: frozenset[str] | None = None

    def __post_init__(self) -> None:
        if self.options.kind != self.name:
            raise TypeError(f"probe kind {self.name!r}: options class {self.options.__name__} says "
                            f"kind={self.options.kind!r}")
        if (self.model is None) == (not self.unmodelled):
            raise TypeError(f"probe kind {self.name!r} needs a model or a reason it has none")

    def parse(self, values: Mapping[str, Any] | ProbeOptions, *, prefix: str = "") -> ProbeOptions:
        """Typed options from user values (or already typed ones)."""
        if isinstance(values, ProbeOptions):
            return values
        return self.options.parse(values, prefix=prefix)


@functools.cache
def _registered() -> dict[str, ProbeKind]:
    found = load_kinds(GROUP, ProbeKind, "probe kind")
    check_tool_names(found)
    return found


def check_tool_names(found: Mapping[str, ProbeKind]) -> None:
    """TypeError when a kind's name is another kind's tool name: a tool is started by its kind's name
    too (``python -m natsim.probes tcp-send``, ``natsim probe tcp-send``), so the two would clash."""
    tools = {k.tool.name: k.name for k in found.values() if k.tool is not None}
    for name in found:
        if tools.get(name, name) != name:
            raise TypeError(f"probe kind {name!r} has the name of the tool of probe kind {tools[name]!r}: "
                            "a tool is started by its kind's name as well, so the two would clash")


def kinds() -> dict[str, ProbeKind]:
    """Every registered probe kind, by name."""
    return dict(_registered())


def kind(name: str) -> ProbeKind:
    """The probe kind called ``name``; :class:`ConfigError` with the closest name when unknown."""
    return find_kind(_registered(), name, "probe kind")


def kind_alone(name: str) -> ProbeKind | None:
    """The probe kind called ``name`` with no other kind's code imported (None when none is): a lab
    node's tool process (``python -m natsim.probes KIND``) needs its own kind only."""
    return load_kind(GROUP, ProbeKind, name)


def options_of(spec: Any) -> ProbeOptions:
    """A probe spec's typed options (specs built in code may carry a plain mapping)."""
    return kind(spec.kind).parse(spec.options or {}, prefix=f"{spec.name}.")

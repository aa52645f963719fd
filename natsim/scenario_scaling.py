"""A scenario's middlebox timers at its time scale.

Every timer must land on whole kernel seconds within 1 % (:meth:`natsim.units.TimeScale.kernel_seconds`
refuses otherwise), except one no probe's verdict depends on: each probe kind declares the conntrack
states its verdicts depend on (:attr:`natsim.probes.registry.ProbeKind.conntrack_states`), and a
conntrack setting that times only other states and does not scale exactly is rounded **up** to whole
lab seconds. The rounded value is the scenario's from then on, so the lab's kernel and the model hold
the same timer; the run's result lists it (:attr:`RoundedTimer.describe`). Example: the CGN's 4 min
transitory timeout is 0.4 lab seconds at time scale 600; the TCP ladder probes depend on the
established timeout alone, so it becomes 1 lab second (10 min).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any, cast

from natsim.errors import TimeScaleError
from natsim.middleboxes import render
from natsim.middleboxes.base import Middlebox, RenderContext, with_preset
from natsim.middleboxes.conntrack.config import ConntrackConfig
from natsim.middleboxes.presets import preset_of
from natsim.probes.registry import ProbeKind
from natsim.units import MAX_ROUNDING_ERROR, TimeScale, format_duration


@dataclass(frozen=True)
class RoundedTimer:
    """A middlebox setting rounded up at a time scale because no probe's verdict depends on it."""

    node: str
    setting: str
    declared: float
    used: float
    time_scale: float

    def describe(self) -> str:
        """What was rounded, to what, and why that cannot change a verdict."""
        return (f"{self.node}.{self.setting}: {format_duration(self.declared)} rounded up to "
                f"{format_duration(self.used)} ({round(self.used / self.time_scale)} lab s at time scale "
                f"{self.time_scale:g}); no probe's verdict depends on it")


def needed_states(kinds: Iterable[ProbeKind]) -> frozenset[str] | None:
    """The conntrack states whose timeouts some probe of ``kinds`` depends on (None: every state,
    because a kind does not say)."""
    needed: set[str] = set()
    for kind in kinds:
        if kind.conntrack_states is None:
            return None
        needed |= kind.conntrack_states
    return frozenset(needed)


def round_loose_timers(middleboxes: Mapping[str, Middlebox], needed: frozenset[str] | None,
                       scale: TimeScale) -> tuple[dict[str, Middlebox], tuple[RoundedTimer, ...]]:
    """``middleboxes`` with every conntrack setting that times only states outside ``needed`` and
    does not scale within 1 % rounded up to whole lab seconds; what was rounded."""
    found: list[RoundedTimer] = []
    out: dict[str, Middlebox] = {}
    for node, config in middleboxes.items():
        if needed is not None and isinstance(config, ConntrackConfig):
            rounded = _loose(node, config, needed, scale)
            config = _replaced(config, {r.setting: r.used for r in rounded})
            found += rounded
        out[node] = config
    return out, tuple(found)


def _loose(node: str, config: ConntrackConfig, needed: frozenset[str],
           scale: TimeScale) -> list[RoundedTimer]:
    timeouts = config.policy().timeouts
    settings = {t.setting: t.real for t in timeouts if t.setting is not None}
    rounded = []
    for setting, real in settings.items():
        if any(t.state in needed for t in timeouts if t.setting == setting):
            continue
        scaled = scale.kernel_seconds(setting, real, strict=False)
        if scaled.relative_error > MAX_ROUNDING_ERROR:
            used = max(1, math.ceil(scaled.exact)) * scale.factor
            rounded.append(RoundedTimer(node, setting, real, used, scale.factor))
    return rounded


def declared(middleboxes: Mapping[str, Middlebox], rounded: Iterable[RoundedTimer]) -> dict[str, Middlebox]:
    """``middleboxes`` with the settings :func:`round_loose_timers` rounded back at their declared
    values (to scale them again at another time scale)."""
    out = dict(middleboxes)
    for timer in rounded:
        out[timer.node] = _replaced(out[timer.node], {timer.setting: timer.declared})
    return out


def _replaced(config: Middlebox, changes: Mapping[str, float]) -> Middlebox:
    """``config`` with ``changes``, still remembering the preset it was built from (``replace``
    forgets it: it is not a field)."""
    if not changes:
        return config
    new = replace(cast(Any, config), **changes)
    preset = preset_of(config)
    return with_preset(new, preset) if preset is not None else cast(Middlebox, new)


def check_scaling(middleboxes: Mapping[str, Middlebox], scale: TimeScale) -> None:
    """Render every middlebox at ``scale`` so rounding problems surface at load
    (:class:`~natsim.errors.TimeScaleError`)."""
    for node, config in middleboxes.items():
        render(config, RenderContext(node=node, inside=("in0",), outside=("out0",), time_scale=scale))


def check_lab_scale(probe: str, kind: ProbeKind, scale: TimeScale, options: object = None) -> None:
    """Refuse (:class:`~natsim.errors.TimeScaleError`) to run ``probe`` in a lab at a time scale above
    the highest its kind's verdicts stay exact at (:attr:`~natsim.probes.registry.ProbeKind.scale_limit`),
    unless the limit says these ``options`` stay exact above it."""
    limit = kind.scale_limit
    exact = limit is not None and limit.exact_above is not None and options is not None \
        and limit.exact_above(options, scale.factor)
    if limit is not None and scale.factor > limit.factor and not exact:
        raise TimeScaleError(
            f"probe {probe} ({kind.name}): time scale {scale.factor:g} is above {limit.factor:g}, the "
            f"highest at which {kind.name}'s lab verdicts stay exact on this kernel ({limit.reason}); "
            f"run it at --time-scale {limit.factor:g} or less")

"""Simulated middleboxes, built from the same config dataclasses the lab renders.

A model is registered per middlebox ``kind`` (:func:`register_model`); :func:`build_model` never
special-cases a kind. Stateful models share :class:`Stateful` (conntrack policy); NATs add address
and port mapping (:class:`Nat`). See ``docs/model.md`` for the assumptions.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from natsim.errors import ConfigError
from natsim.middleboxes.base import Untracked
from natsim.middleboxes.conntrack import KERNEL_TCP_TIMEOUTS, ConntrackConfig
from natsim.sim.conntrack import (
    ESTABLISHED,
    UNACKNOWLEDGED,
    ConntrackTable,
    Entry,
    Expired,
    Tuple,
    track_flags,
)
from natsim.sim.network import Action, Answer, Drop, Forward, MiddleboxModel, Segment
from natsim.sim.timers import CT_UNACKNOWLEDGED
from natsim.units import TimeScale

ModelFactory = Callable[[str, Any, TimeScale, int], MiddleboxModel]
_MODELS: dict[str, ModelFactory] = {}


def register_model(kind: str) -> Callable[[ModelFactory], ModelFactory]:
    """Decorator: the model factory for middlebox ``kind``."""
    def deco(factory: ModelFactory) -> ModelFactory:
        _MODELS[kind] = factory
        return factory
    return deco


def build_model(node: str, config: Any, timing: TimeScale, seed: int = 0) -> MiddleboxModel:
    """The model of ``config`` (any registered middlebox config) placed at ``node``; ``seed`` seeds
    its random choices."""
    from natsim.sim import nat, ssh  # noqa: F401  (they register their models)
    kind = getattr(config, "kind", None)
    factory = _MODELS.get(str(kind))
    if factory is None:
        raise ConfigError(f"{node}: no simulation model for middlebox kind {kind!r}; "
                          f"modelled: {', '.join(sorted(_MODELS))}")
    return factory(node, config, timing, seed)


def ct_timeouts(config: ConntrackConfig, timing: TimeScale) -> dict[str, float]:
    """Per-state timeouts in real-world seconds, quantised as the lab's kernel holds them."""
    timeouts = {ESTABLISHED: timing.whole(config.idle_timeout)}
    for state, default in KERNEL_TCP_TIMEOUTS.items():
        value = config.transitory_timeout if config.transitory_timeout is not None else default
        timeouts[state] = timing.whole(value)
    timeouts[UNACKNOWLEDGED] = timing.unscaled(CT_UNACKNOWLEDGED)
    return timeouts


def _fmt(seconds: float) -> str:
    return f"{seconds:.6g} s"


class Stateful:
    """Conntrack policy of any stateful middlebox; no address translation (a bridge)."""

    #: a NAT rewrites addresses, so it must never pass an untracked packet
    translates = False

    def __init__(self, name: str, config: ConntrackConfig, timing: TimeScale) -> None:
        self.name = name
        self.config = config
        self.table = ConntrackTable(ct_timeouts(config, timing))

    @property
    def established_timeout(self) -> float:
        """Idle timeout of an established connection (real-world seconds)."""
        return self.table.timeouts[ESTABLISHED]

    def handle(self, seg: Segment, outbound: bool, now: float) -> Action:
        """Conntrack lookup, then the untracked policy of the packet's direction."""
        entry, is_reply, expired = self.table.lookup((seg.src, seg.dst), now)
        if entry is not None:
            if is_reply:
                entry.seen_reply = True
            self.table.refresh(entry, now, track_flags(entry, seg.flags, is_reply))
            return Forward(self.translate(seg, entry, is_reply))
        return self.untracked(seg, outbound, now, self._why(expired, seg, outbound))

    def _why(self, expired: Expired | None, seg: Segment, outbound: bool) -> str:
        if expired is not None:
            return (f"idle {_fmt(expired.idle)} ≥ {self.name} {expired.state} timeout "
                    f"{_fmt(expired.timeout)}")
        return f"{self.name} has no entry for this {'outbound' if outbound else 'inbound'} {seg.what()}"

    def untracked(self, seg: Segment, outbound: bool, now: float, why: str) -> Action:
        """A packet of no known connection: a SYN opens one, anything else meets the policy."""
        direction = "outbound" if outbound else "inbound"
        if seg.flags == "S":
            return self.open(seg, outbound, now)
        policy = self.config.untracked_outbound if outbound else self.config.untracked_inbound
        if "R" in seg.flags or "F" in seg.flags or "S" in seg.flags:
            return self.invalid(seg, policy, direction, why)
        if policy is Untracked.DROP:
            return Drop(f"{why}; {direction} {seg.what()} dropped as untracked")
        if policy is Untracked.RESET:
            rst = Segment(seg.dst, seg.src, "R", seg.conn)
            return Answer(rst, f"{why}; {direction} {seg.what()} answered with RST by {self.name}")
        return self.pickup(seg, outbound, now, why)

    def invalid(self, seg: Segment, policy: Untracked, direction: str, why: str) -> Action:
        """FIN, RST or SYN-ACK of no known connection: conntrack cannot pick it up (invalid).

        ``drop``/``reset`` render ``ct state invalid drop|reject``; under ``pickup`` a bridge has no
        rule and passes it untracked (no entry is created); a NAT drops it (``translates``).
        """
        what = seg.what()
        if policy is Untracked.PICKUP and not self.translates:
            return Forward(seg, f"{why}; {direction} {what} passes untracked ({self.name} cannot pick "
                                "up a FIN/RST: invalid, no entry)")
        if policy is Untracked.RESET and "R" not in seg.flags:
            rst = Segment(seg.dst, seg.src, "R", seg.conn)
            return Answer(rst, f"{why}; {direction} {what} (invalid) answered with RST by {self.name}")
        return Drop(f"{why}; {direction} {what} of no known connection dropped as invalid")

    def open(self, seg: Segment, outbound: bool, now: float) -> Action:
        """A new connection (bare SYN)."""
        t: Tuple = (seg.src, seg.dst)
        self.table.create(t, (seg.dst, seg.src), "syn_sent", now)
        return Forward(seg)

    def pickup(self, seg: Segment, outbound: bool, now: float, why: str) -> Action:
        """``pickup``: create an entry mid-stream and pass the packet (loose tracking)."""
        t: Tuple = (seg.src, seg.dst)
        entry = self.table.create(t, (seg.dst, seg.src), ESTABLISHED, now, picked_up=True)
        self.table.refresh(entry, now)
        direction = "outbound" if outbound else "inbound"
        return Forward(seg, f"{why}; {direction} {seg.what()} picked up by {self.name} (new entry)")

    def translate(self, seg: Segment, entry: Entry, is_reply: bool) -> Segment:
        """Rewrite addresses for a packet of ``entry`` (none on a bridge)."""
        return seg


@register_model("cpe-bridge")
def _bridge(node: str, config: Any, timing: TimeScale, seed: int) -> MiddleboxModel:
    return Stateful(node, config, timing)


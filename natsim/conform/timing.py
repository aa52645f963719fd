"""Idle-timeout probing: many mappings opened together, each tested after its own idle time.

Mappings share nothing, so testing one does not refresh another; the schedule is absolute (one
monotonic clock), and probing stops after two expired mappings (lifetimes are monotonic).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from natsim.conform.verdict import Probe

#: How long after a probe packet the controller looks for it (lab seconds; lab RTTs are < 1 ms).
SETTLE = 0.15


@dataclass
class Slot:
    """One mapping: opened at ``opened`` (monotonic), probed ``idle`` lab seconds later."""

    key: str
    idle: float
    opened: float = 0.0


def idle_grid(threshold_lab: float, tolerance_lab: float, *, cap_lab: float,
              fractions: tuple[float, ...] = (0.1, 0.25, 0.4, 0.5, 0.6, 0.75, 0.9),
              growth: float = 1.5) -> list[float]:
    """Idle times (lab s): fractions of the threshold, the threshold minus tolerance, then growing
    by ``growth`` until ``cap_lab`` so a passing mapping's lifetime is still bracketed."""
    grid = [threshold_lab * f for f in fractions] + [threshold_lab - tolerance_lab]
    value = threshold_lab * 1.25
    while value <= cap_lab:
        grid.append(value)
        value *= growth
    return sorted(g for g in set(grid) if 0 < g <= max(cap_lab, threshold_lab))


def run_schedule(slots: list[Slot], probe: Callable[[Slot], None], check: Callable[[Slot], tuple[bool, str]],
                 scale: float, *, stop_after_dead: int = 2) -> list[Probe]:
    """Probe each slot at ``opened + idle``, check it ``SETTLE`` later; real-world idle in results."""
    events: list[tuple[float, int, Slot]] = []
    for slot in slots:
        events.append((slot.opened + slot.idle, 0, slot))
        events.append((slot.opened + slot.idle + SETTLE, 1, slot))
    events.sort(key=lambda e: (e[0], e[1]))
    results: list[Probe] = []
    sent: set[str] = set()
    dead = 0
    for when, kind, slot in events:
        if dead >= stop_after_dead:
            break
        delay = when - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        if kind == 0:
            probe(slot)
            sent.add(slot.key)
        elif slot.key in sent:
            alive, detail = check(slot)
            results.append(Probe(slot.idle * scale, alive, detail))
            dead += 0 if alive else 1
    return results

"""The model of natsim's UDP mapping tables (:mod:`natsim.middleboxes.nat.tables`): the same dynamic
maps, kept by the same packets, with nftables' element timeouts.

Each table exists in two classes, ``u`` and ``s`` (refreshed by packets of flows conntrack holds as
unreplied or as a stream, each with that timer); an element lives while ``now`` is before its
expiry (nftables drops it at expiry, as conntrack drops an entry idle for exactly its timeout).
``update`` refreshes an element (creating it when missing; the value of a living element never
changes), ``add`` only creates one that neither class holds.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any

from natsim.middleboxes.nat.tables import CLASSES


@dataclass
class Element:
    """One element of a dynamic map: its value, when it expires and its timeout."""

    value: Any
    expires: float
    timeout: float
    refreshed: float


@dataclass
class TimedTable:
    """One table (``map``, ``own``, ``port`` or ``perm``) in both classes."""

    timeouts: dict[str, float]
    classes: dict[str, dict[Hashable, Element]] = field(default_factory=lambda: {c: {} for c in CLASSES})

    def _alive(self, cls: str, key: Hashable, now: float) -> Element | None:
        element = self.classes[cls].get(key)
        return element if element is not None and element.expires > now else None

    def get(self, key: Hashable, now: float) -> Element | None:
        """The living element of ``key``, the stream class's first (as the DNAT rules look them up)."""
        for cls in reversed(CLASSES):
            element = self._alive(cls, key, now)
            if element is not None:
                return element
        return None

    def alive(self, key: Hashable, now: float) -> bool:
        """Whether either class holds ``key``."""
        return self.get(key, now) is not None

    def record(self, cls: str, key: Hashable, value: Any, now: float, refreshes: bool) -> None:
        """``update`` (``refreshes``) or ``add`` ``key`` in class ``cls``."""
        if not refreshes and self.alive(key, now):
            return
        timeout = self.timeouts[cls]
        element = self._alive(cls, key, now)
        if element is None:
            self.classes[cls][key] = Element(value, now + timeout, timeout, now)
        else:
            element.expires, element.timeout, element.refreshed = now + timeout, timeout, now

    def last(self, key: Hashable) -> Element | None:
        """The element of ``key`` that expires last (even if it has expired), for explanations."""
        found = [e for c in CLASSES if (e := self.classes[c].get(key)) is not None]
        return max(found, key=lambda e: e.expires) if found else None

    def keys(self, now: float) -> set[Hashable]:
        """Every key either class holds."""
        return {k for c in CLASSES for k, e in self.classes[c].items() if e.expires > now}

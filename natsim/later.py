"""Callables imported when first called: what a probe kind names (its lab driver, its model, its tool's
parser builder) stays unimported until something uses it.

A lab node runs one probe tool per process (``python -m natsim.probes TOOL``); importing every kind's lab
driver and model code to run it cost 0.42 s of CPU per tool start, 0.28 s without (``-X importtime``:
the probe server, the middlebox registry, the simulation). No library: ``importlib`` is all it takes.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


class Later:
    """``module:name``, imported on the first call and then called with the same arguments."""

    def __init__(self, target: str) -> None:
        module, sep, name = target.partition(":")
        if not sep or not module or not name:
            raise ValueError(f"expected 'module:name', got {target!r}")
        self.target, self._module, self._name = target, module, name
        self._resolved: Callable[..., Any] | None = None

    def resolve(self) -> Callable[..., Any]:
        """The callable itself (imported now if it was not yet)."""
        if self._resolved is None:
            self._resolved = getattr(importlib.import_module(self._module), self._name)
        return self._resolved

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.resolve()(*args, **kwargs)

    def __repr__(self) -> str:
        return f"Later({self.target!r})"


def later(target: str) -> Callable[..., Any]:
    """A callable standing for ``module:name`` (e.g. ``"natsim.probes.tcp.driver:driver"``), imported on
    its first call."""
    return Later(target)

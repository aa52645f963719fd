"""Emulation: network namespaces (Mininet nodes), middlebox rulesets, lifecycle and cleanup.

``from natsim.lab import Lab`` loads the lab (and Mininet) on first use only, so commands that never
build a lab start fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from natsim.lab.lab import Lab, LabProcess

__all__ = ["Lab", "LabProcess"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from natsim.lab import lab

        return getattr(lab, name)
    raise AttributeError(f"module 'natsim.lab' has no attribute {name!r}")

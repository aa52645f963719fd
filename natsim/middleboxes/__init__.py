"""Middleboxes: one folder per kind (config, policy, render, model), found through the registry.

See :mod:`natsim.middleboxes.registry` and ``docs/middleboxes.md`` ("Adding a middlebox").
"""

from natsim.middleboxes.registry import (
    MiddleboxKind,
    build_config,
    build_model,
    config_class,
    kind,
    kinds,
    render,
)

__all__ = ["MiddleboxKind", "build_config", "build_model", "config_class", "kind", "kinds", "render"]

"""Where natsim's shipped scenarios, topologies and presets are.

In the project they are top-level folders, ``scenarios/``, ``topologies/`` and ``presets/`` beside the
``natsim`` package (the layout natsim promises its users; a checkout and ``pip install -e .`` read them
there). A wheel carries them inside the package, as ``natsim/scenarios/``, ``natsim/topologies/`` and
``natsim/presets/`` (``setup.py`` maps them at build time). The folder inside the package wins when it
exists.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def shipped_dir(name: str) -> Path:
    """The folder of shipped ``name`` (``"scenarios"``, ``"topologies"`` or ``"presets"``): inside the
    installed package, else beside it (a checkout)."""
    installed = _PACKAGE / name
    return installed if installed.is_dir() else _PACKAGE.parent / name


#: natsim's own scenarios (they may run commands without ``--trust``).
SCENARIOS = shipped_dir("scenarios")
#: natsim's own topologies (loaded without ``--trust``). Real files, not ``importlib.resources``
#: traversables: they are executed by path, by natsim and by ``mn --custom``.
TOPOLOGIES = shipped_dir("topologies")
#: natsim's own presets (devices as data: one YAML file each, read without running anything).
PRESETS = shipped_dir("presets")

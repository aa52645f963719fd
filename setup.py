"""Build configuration that pyproject.toml cannot state: the shipped ``scenarios/``, ``topologies/`` and
``presets/`` sit beside the ``natsim`` package in the project, and a wheel carries them inside it, as
``natsim/scenarios/``, ``natsim/topologies/`` and ``natsim/presets/`` (``natsim.shipped`` finds them
either way).

Everything else is in pyproject.toml.
"""

from setuptools import find_packages, setup

#: Data folders at the project's top level, installed inside the package.
DATA_DIRS = {"natsim.scenarios": "scenarios", "natsim.topologies": "topologies", "natsim.presets": "presets"}

setup(packages=[*find_packages(include=["natsim", "natsim.*"]), *DATA_DIRS], package_dir=DATA_DIRS)

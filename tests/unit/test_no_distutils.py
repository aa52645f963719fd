"""Nothing natsim imports needs ``distutils`` (removed in Python 3.12), even on Python 3.11.

A subprocess blocks every ``distutils`` import (and setuptools' ``_distutils_hack``, which would
otherwise serve its vendored copy), then imports every natsim module, Mininet's ``mininet.node``
through natsim, and every shipped topology. Mininet itself imports ``distutils.version``; natsim's
:mod:`natsim.lab.mininet_compat` must stand in for it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

_CHILD = textwrap.dedent('''
    import importlib
    import pkgutil
    import sys

    BLOCKED = ("distutils", "_distutils_hack", "setuptools._distutils")

    class BlockDistutils:
        """Refuse distutils as Python 3.12 would: no such module."""

        def find_spec(self, name, path=None, target=None):
            if any(name == b or name.startswith(b + ".") for b in BLOCKED):
                raise ModuleNotFoundError(f"No module named {name!r} (blocked by the test)", name=name)
            return None

    for loaded in [m for m in sys.modules if any(m == b or m.startswith(b + ".") for b in BLOCKED)]:
        del sys.modules[loaded]
    sys.meta_path.insert(0, BlockDistutils())
    try:
        import distutils.version  # noqa: F401
    except ImportError:
        pass
    else:
        sys.exit("the blocker did not block distutils")

    import natsim

    failed = []
    names = [natsim.__name__]
    for info in pkgutil.walk_packages(natsim.__path__, natsim.__name__ + ".", onerror=failed.append):
        if info.name.rsplit(".", 1)[-1] != "__main__":
            names.append(info.name)
    for name in names:
        try:
            importlib.import_module(name)
        except Exception as err:
            failed.append(f"{name}: {type(err).__name__}: {err}")
    if failed:
        sys.exit("\\n".join(map(str, failed)))

    from natsim.lab import mininet_compat
    import mininet.node
    assert mininet_compat.Node is mininet.node.Node
    # mininet.node took its StrictVersion from natsim's stand-in, not from a real distutils.
    assert mininet.node.StrictVersion is mininet_compat.StrictVersion, mininet.node.StrictVersion

    from natsim.lab.topology import available_topologies, load_topology
    for topology in sorted(available_topologies()):
        try:
            load_topology(topology)
        except Exception as err:
            failed.append(f"topology {topology}: {type(err).__name__}: {err}")

    print(f"imported {len(names)} modules")
    if failed:
        sys.exit("\\n".join(map(str, failed)))
''')


def test_every_natsim_module_imports_without_distutils() -> None:
    env = {k: v for k, v in os.environ.items() if k != "NATSIM_TOPOLOGIES"}
    env["SETUPTOOLS_USE_DISTUTILS"] = "stdlib"
    proc = subprocess.run([sys.executable, "-c", _CHILD], capture_output=True, text=True, env=env,
                          timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert proc.stdout.startswith("imported "), proc.stdout


VERSIONS = ["1.9", "1.10", "1.10.0", "1.10.1", "2.0a2", "2.0b1", "2.0", "2.0.0", "2.17.3", "10.0"]


def test_strict_version_stand_in_orders_versions() -> None:
    from natsim.lab.mininet_compat import StrictVersion

    assert StrictVersion("1.9") < StrictVersion("1.10") < StrictVersion("2.0b1") < StrictVersion("2.0")
    assert StrictVersion("2.0") == StrictVersion("2.0.0") == "2.0.0"
    assert StrictVersion("2.17.3") > "2.17"
    assert StrictVersion("2.0a2") < "2.0b1"
    with pytest.raises(ValueError, match=r"invalid version number '2\.x'"):
        StrictVersion("2.x")


def test_strict_version_stand_in_agrees_with_distutils() -> None:
    import warnings

    from natsim.lab.mininet_compat import StrictVersion

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        real = pytest.importorskip("distutils.version").StrictVersion  # gone in Python 3.12
        for a in VERSIONS:
            for b in VERSIONS:
                ours, theirs = StrictVersion(a), real(a)
                assert (ours < b, ours == b, ours > b) == (theirs < b, theirs == b, theirs > b), (a, b)

"""natsim's Mininet container never runs ``Mininet.__init__`` (whose ``Mininet.init()`` rewrites
root-namespace sysctls) but must still set everything Mininet's own methods and CLI read."""

from __future__ import annotations

import ast
import inspect
import textwrap
from collections.abc import Callable
from typing import Any

import mininet.net
import pytest

from natsim.lab.labnet import LabNet
from natsim.lab.mininet_compat import Mininet


def _attributes_set_by_mininet_init() -> set[str]:
    tree = ast.parse(textwrap.dedent(inspect.getsource(Mininet.__init__)))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store) \
                and isinstance(node.value, ast.Name) and node.value.id == "self":
            names.add(node.attr)
    return names


def test_labnet_sets_every_attribute_mininet_init_sets() -> None:
    expected = _attributes_set_by_mininet_init()
    assert len(expected) > 20, "could not read Mininet.__init__"
    net = LabNet(topo=None, host=object)
    assert sorted(n for n in expected if not hasattr(net, n)) == []


def test_labnet_never_runs_mininets_constructor_or_its_root_tuning(monkeypatch: pytest.MonkeyPatch) -> None:
    """Mininet.__init__ calls Mininet.init(), whose fixLimits() writes root-namespace sysctls: building
    natsim's container must reach none of them."""
    called: list[str] = []

    def refuse(name: str) -> Callable[..., None]:
        def record(*args: Any, **kwargs: Any) -> None:
            called.append(name)
        return record

    monkeypatch.setattr(Mininet, "__init__", refuse("Mininet.__init__"))
    monkeypatch.setattr(Mininet, "init", classmethod(refuse("Mininet.init")))
    monkeypatch.setattr(mininet.net, "fixLimits", refuse("fixLimits"))
    net = LabNet(topo=None, host=object)
    assert called == []
    assert (net.hosts, net.links, net.built, net.topo) == ([], [], False, None)

"""natsim's Mininet container never runs ``Mininet.__init__`` (whose ``Mininet.init()`` rewrites
root-namespace sysctls) but must still set everything Mininet's own methods and CLI read."""

from __future__ import annotations

import ast
import inspect
import textwrap

from natsim.lab.lab import _LabNet
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
    net = _LabNet(topo=None, host=object)
    assert sorted(n for n in expected if not hasattr(net, n)) == []


def test_labnet_does_not_call_the_base_constructor() -> None:
    source = inspect.getsource(_LabNet.__init__)
    assert "super()" not in source and "Mininet.__init__" not in source

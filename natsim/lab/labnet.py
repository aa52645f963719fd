"""natsim's Mininet network container: Mininet's ``build()``, ``hosts``, ``links`` and CLI, without
``Mininet.__init__`` (which rewrites root-namespace sysctls). A lab builds its nodes in one
(:mod:`natsim.lab.bringup`); ``benchmarks/lab_lifecycle.py`` builds its bare reference chain with
Mininet's own ``build()`` in one.
"""

from __future__ import annotations

from typing import Any

from natsim.lab.mininet_compat import Intf, Link, Mininet, netParse


class LabNet(Mininet):  # type: ignore[misc]
    """Mininet's network container, built without ``Mininet.__init__``.

    ``Mininet.__init__`` calls ``Mininet.init()`` *by class name*, which runs ``fixLimits()``: it
    rewrites root-namespace sysctls (rmem/wmem_max, tcp_rmem/wmem, netdev_max_backlog, neigh
    gc_thresh1-3, kernel.pty.max). Overriding ``init`` in a subclass cannot stop that, so this class
    sets the attributes ``build()`` and the Mininet CLI use itself and never calls the base
    constructor. ``tests/unit/test_labnet.py`` checks the attribute list against Mininet's own.
    """

    def __init__(self, topo: Any, host: Any, link: Any = Link,
                 intf: Any = Intf) -> None:  # base __init__ skipped on purpose
        self.topo, self.host, self.link, self.intf = topo, host, link, intf
        self.switch = self.controller = None
        self.ipBase = "192.0.2.0/24"          # never used: every node's address comes from the topology
        self.ipBaseNum, self.prefixLen = netParse(self.ipBase)
        self.nextIP = 1
        self.inNamespace = self.xterms = self.cleanup = False
        self.autoSetMacs = self.autoStaticArp = self.autoPinCpus = False
        self.numCores, self.nextCore = 1, 0
        self.listenPort, self.waitConn = None, False
        self.hosts: list[Any] = []
        self.switches: list[Any] = []
        self.controllers: list[Any] = []
        self.links: list[Any] = []
        self.nameToNode: dict[str, Any] = {}
        self.terms: list[Any] = []
        self.built = False

"""A user's own topology file, written outside the repository (tests of ``--trust`` and FILE.py).

Its top level writes a marker file, so a test can tell whether natsim executed it.
"""

from __future__ import annotations

from pathlib import Path

NAME = "my-nat"
SOURCE = '''\
from pathlib import Path

from mininet.topo import Topo

Path({marker!r}).write_text("executed")


class MyNat(Topo):
    """client — router (home-router) — server, as a user would write it."""

    def build(self):
        client = self.addHost("client", ip=None, defaultRoute="via 192.0.2.1", natsim_role="host")
        router = self.addHost("router", ip=None, natsim_role="home-router",
                              natsim_inside=["router-eth0"], natsim_outside=["router-eth1"])
        server = self.addHost("server", ip=None, defaultRoute="via 198.51.100.1", natsim_role="host")
        self.addLink(client, router, intfName1="client-eth0", intfName2="router-eth0",
                     params1={{"ip": "192.0.2.10/24"}}, params2={{"ip": "192.0.2.1/24"}})
        self.addLink(router, server, intfName1="router-eth1", intfName2="server-eth0",
                     params1={{"ip": "198.51.100.1/24"}}, params2={{"ip": "198.51.100.10/24"}})


topos = {{{name!r}: MyNat}}
'''


def write_topology(directory: Path, *, name: str = NAME, file: str = "my_nat.py") -> tuple[Path, Path]:
    """Write the topology file into ``directory``; return (file, marker it creates when executed)."""
    directory.mkdir(parents=True, exist_ok=True)
    path, marker = directory / file, directory / f"{file}.executed"
    path.write_text(SOURCE.format(marker=str(marker), name=name))
    return path, marker


def write_scenario(path: Path, topology: str, *, extra: str = "") -> Path:
    """A tiny scenario on ``topology`` (one TCP probe, two connections; seconds at time scale 600)."""
    path.write_text(f"topology: {topology}\ntime_scale: 600\ncaptures: false\nprobes:\n"
                    "  - name: send\n    kind: tcp-send\n    options: {connections: 2, step: 10m}\n"
                    "expect:\n  send: {all_alive: true}\n" + extra)
    return path

"""Which nodes serve a probe's connections: the server node, or the backends of a node whose kind
declares them (a load balancer's virtual IP); the SSH probes refuse a server that fronts several."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from natsim.errors import ProbeError
from natsim.middleboxes import build_config
from natsim.probes.driver_context import DriverContext
from natsim.probes.ssh import driver as ssh_driver
from natsim.probes.ssh.options import SshFirstConnectOptions

ADDRESSES = {"client": "198.51.100.10", "lb": "198.51.100.1", "web1": "203.0.113.10",
             "web2": "203.0.113.130"}


def context(tmp_path: Path) -> DriverContext:
    lab = SimpleNamespace(middleboxes={"lb": build_config("load-balancer", {})})
    return DriverContext(lab, SimpleNamespace(addresses=ADDRESSES), tmp_path, tmp_path)  # type: ignore[arg-type]


def test_a_load_balancers_backends_serve_what_is_addressed_to_it(tmp_path: Path) -> None:
    ctx = context(tmp_path)
    assert ctx.serving("lb") == ("web1", "web2")
    assert ctx.serving("web1") == ("web1",) and ctx.serving("client") == ("client",)


def test_the_ssh_probes_refuse_a_server_that_fronts_backends(tmp_path: Path) -> None:
    spec = SimpleNamespace(name="logins", server="lb")
    with pytest.raises(ProbeError, match="logins: the SSH probes need one SSH server; lb fronts web1, web2"):
        ssh_driver._backend(context(tmp_path), spec, SshFirstConnectOptions())

"""The firewall in a real lab (root): natsim's ``natsim_lab`` fixture brings the topology up."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from natsim_idle_firewall import IdleFirewall

TOPOLOGY = Path(__file__).parents[1] / "topologies" / "office_firewall.py"


@pytest.mark.natsim_netns
def test_the_outside_opens_connections_only_to_allowed_ports(natsim_lab: Callable[..., Any]) -> None:
    lab = natsim_lab(str(TOPOLOGY), {"fw": IdleFirewall(inbound_ports=(22,))})
    client = lab.address("client")
    # nothing listens on the client: a SYN that passes the firewall is refused by the client's kernel,
    # one the firewall drops times out
    allowed = lab.run("server", f"timeout 3 bash -c '</dev/tcp/{client}/22'")
    blocked = lab.run("server", f"timeout 3 bash -c '</dev/tcp/{client}/8080'")
    assert allowed[0] == 1 and "Connection refused" in allowed[1], allowed
    assert blocked[0] == 124, blocked

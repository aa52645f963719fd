"""A lab's bring-up (natsim.lab.bringup) in a real lab: every node is set as its topology says, and a
set-up step that fails is named, whether it was a line of the node's ``ip -batch`` or another command."""

from __future__ import annotations

import pytest

from natsim.errors import LabError
from natsim.lab import Lab
from natsim.middleboxes.base import Rendered

pytestmark = pytest.mark.natsim_netns


def test_nodes_get_their_addresses_routes_and_forwarding_and_a_failed_step_is_named() -> None:
    with Lab("isp-bridge-cgn") as lab:
        addresses = lab.run("client", ["ip", "-br", "addr", "show", "client-eth0"])[1]
        assert addresses.split()[2] == "100.64.1.10/24"
        assert "default via 100.64.1.1 dev client-eth0" in lab.run("client", ["ip", "route"])[1]
        assert "192.0.2.0/24 via 198.51.100.2" in lab.run("inet", ["ip", "route"])[1]
        for node, forwards in (("client", "0"), ("cpe", "1"), ("cgn", "1"), ("inet", "1")):
            assert lab.run(node, ["cat", "/proc/sys/net/ipv4/ip_forward"])[1].strip() == forwards, node
        assert "master br0" in lab.run("cpe", ["ip", "-o", "link", "show", "cpe-eth0"])[1]
        for node in ("client", "cpe", "cgn", "inet", "server"):   # handed over with every link UP
            links = [line.split() for line in lab.run(node, ["ip", "-br", "link", "show"])[1].splitlines()]
            assert [(n, state) for n, state, *_ in links if "@" in n and state != "UP"] == [], node
        assert lab.run("client", "ping -c1 -W2 203.0.113.10")[0] == 0
        route = ("ip", "route", "add", "192.0.2.128/25", "via", "198.51.100.99")   # not on a link of its
        bad_route = Rendered(nft="", commands=(("ip", "addr", "add", "192.0.2.77/32", "dev", "lo"), route))
        with pytest.raises(LabError, match=rf"node server: `{' '.join(route)}` failed"):
            lab.apply("server", bad_route)
        with pytest.raises(LabError, match=r"node server: its set-up .*\+ false"):
            lab.apply("server", Rendered(nft="", commands=(("false",),)))

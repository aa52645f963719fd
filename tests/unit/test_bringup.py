"""What a lab's bring-up runs in each node (natsim.lab.bringup), computed without root: one ``ip -batch``
per node with Mininet's settings and natsim's, the middlebox's ``ip`` commands joining it, sysctls
written without a process, the ruleset last; every veth pair in one batch, named by held descriptors."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from natsim.errors import ConfigError
from natsim.lab.bringup import (
    END_OF_BATCH,
    NodeSetup,
    batchable,
    failed_line,
    link_lines,
    node_script,
    node_setup,
    sysctl_line,
    wait_up_lines,
)
from natsim.lab.links import IntfSettings, VethPair
from natsim.middleboxes.base import Rendered


def test_a_host_gets_its_interfaces_addresses_and_default_route_in_one_batch() -> None:
    setup = node_setup("client", {"ip": None, "defaultRoute": "via 100.64.1.1", "natsim_role": "host"},
                       [IntfSettings("client-eth0", "100.64.1.10/24")])
    assert setup.ip_lines == ["link set dev lo up", "addr add 100.64.1.10/24 dev client-eth0",
                              "link set dev client-eth0 up", "route replace default via 100.64.1.1"]
    assert setup.sysctls == {} and setup.commands == [] and setup.nft == ""


def test_a_router_forwards_and_gets_its_routes_and_more_addresses() -> None:
    params = {"natsim_role": "router", "natsim_routes": ["192.0.2.0/24 via 198.51.100.2"],
              "natsim_addresses": ["203.0.113.7/32 dev r-eth1"], "defaultRoute": "r-eth0"}
    setup = node_setup("r", params, [IntfSettings("r-eth0", None, "02:00:00:00:00:01"),
                                     IntfSettings("r-eth1", "203.0.113.1/24", up=False)])
    assert setup.ip_lines == ["link set dev lo up", "link set dev r-eth0 address 02:00:00:00:00:01",
                              "link set dev r-eth0 up", "addr add 203.0.113.1/24 dev r-eth1",
                              "addr add 203.0.113.7/32 dev r-eth1", "route replace default dev r-eth0",
                              "route add 192.0.2.0/24 via 198.51.100.2"]
    assert setup.sysctls == {"net.ipv4.ip_forward": "1"}


def test_a_node_ip_parameter_goes_on_its_first_interface_as_mininet_sets_it() -> None:
    setup = node_setup("h", {"ip": "192.0.2.5"}, [IntfSettings("h-eth0"), IntfSettings("h-eth1")])
    assert "addr add 192.0.2.5/8 dev h-eth0" in setup.ip_lines


def test_topology_parameters_are_refused_unless_plain_words_or_lab_addresses() -> None:
    with pytest.raises(ConfigError, match="natsim_routes entry"):
        node_setup("r", {"natsim_routes": ["default via 1.2.3.4\nlink del lo"]}, [])
    with pytest.raises(ConfigError, match="natsim_routes entry"):
        node_setup("r", {"natsim_routes": ["default via 1.2.3.4; reboot"]}, [])
    with pytest.raises(Exception, match="natsim_addresses"):
        node_setup("r", {"natsim_addresses": ["10.0.0.1/8 dev r-eth0"]}, [])


def test_a_renders_leading_ip_commands_join_the_batch_the_rest_runs_after_it_in_order() -> None:
    rendered = Rendered(nft="table inet t {}\n", sysctls={"net.netfilter.nf_conntrack_tcp_loose": "0"},
                        commands=(("ip", "link", "add", "br0", "type", "bridge"),
                                  ("tc", "qdisc", "add", "dev", "br0", "root", "noqueue"),
                                  ("ip", "link", "set", "br0", "up")))
    setup = node_setup("cpe", {"natsim_role": "cpe-bridge"}, [], rendered)
    assert setup.ip_lines == ["link set dev lo up", "link add br0 type bridge"]
    assert setup.commands == [("tc", "qdisc", "add", "dev", "br0", "root", "noqueue"),
                              ("ip", "link", "set", "br0", "up")]
    assert setup.sysctls == {"net.ipv4.ip_forward": "1", "net.netfilter.nf_conntrack_tcp_loose": "0"}
    script = node_script(setup)
    assert script.splitlines() == [
        "set -e", "exec 3<&0 </dev/null", f"ip -batch - <<'{END_OF_BATCH}'", "link set dev lo up",
        "link add br0 type bridge", END_OF_BATCH, "set -x", "tc qdisc add dev br0 root noqueue",
        "ip link set br0 up", "printf '%s\\n' 1 > /proc/sys/net/ipv4/ip_forward",
        "printf '%s\\n' 0 > /proc/sys/net/netfilter/nf_conntrack_tcp_loose", "nft -f - <&3"]


def test_only_plain_ip_commands_are_batched() -> None:
    assert batchable(("ip", "rule", "add", "fwmark", "0x1", "lookup", "100"))
    assert not batchable(("ip", "-6", "route", "add", "::/0", "dev", "lo"))
    assert not batchable(("ip", "link", "set", "x", "alias", "two words"))
    assert not batchable(("ip", "link", "set", "x", "alias", "#1"))
    assert not batchable(("ip",))
    assert not batchable(("sysctl", "-w", "a=1"))


def test_sysctls_are_written_as_sysctl_writes_them() -> None:
    assert sysctl_line("net.ipv4.ip_forward", "1") == "printf '%s\\n' 1 > /proc/sys/net/ipv4/ip_forward"
    assert sysctl_line("net/ipv4/conf/eth0.100/rp_filter", "0").endswith(
        "> /proc/sys/net/ipv4/conf/eth0.100/rp_filter")
    assert sysctl_line("net.ipv4.tcp_rmem", "4096 87380 6291456").startswith("printf '%s\\n' '4096 87380")
    for bad in ("net.ipv4.ip_forward; reboot", "../../etc/passwd", "net..x", ""):
        with pytest.raises(ConfigError):
            sysctl_line(bad, "1")


def test_a_failed_batch_line_is_named() -> None:
    setup = NodeSetup("r", ["link set dev lo up", "route add 192.0.2.0/24 via 198.51.100.9"])
    output = "Error: Nexthop has invalid gateway.\nCommand failed -:2\n"
    assert failed_line(setup, output) == "ip route add 192.0.2.0/24 via 198.51.100.9"
    assert failed_line(setup, "Command failed -:7") == "" and failed_line(setup, "boom") == ""


def test_every_veth_pair_is_one_line_with_each_end_in_its_held_namespace_and_its_own_index() -> None:
    pairs = [VethPair("a-eth0", "02:00:00:00:00:01", "a", "b-eth0", None, "b"),
             VethPair("b-eth1", None, "b", "c-eth0", None, "c")]
    assert link_lines(pairs, {"a": 7, "b": 9, "c": 11}) == [
        "link add name a-eth0 address 02:00:00:00:00:01 netns /proc/self/fd/7 index 1000 type veth "
        "peer name b-eth0 netns /proc/self/fd/9 index 1001",
        "link add name b-eth1 netns /proc/self/fd/9 index 1002 type veth "
        "peer name c-eth0 netns /proc/self/fd/11 index 1003"]


def _fake_ip(tmp_path: Path, states: list[str]) -> dict[str, str]:
    """PATH with an ``ip`` whose ``-br link show`` prints ``a-eth0@if3 STATE``, one state of ``states``
    per call (the last repeats), and a second line for ``lo``."""
    (tmp_path / "states").write_text("\n".join(states) + "\n")
    ip = tmp_path / "ip"
    ip.write_text("#!/bin/sh\nstate=$(head -n1 states)\n"
                  "[ $(wc -l < states) -gt 1 ] && sed -i 1d states\n"
                  'printf "lo UNKNOWN 00:00:00:00:00:00 <LOOPBACK,UP>\\n'
                  'a-eth0@if3 %s 02:00:00:00:00:01 <BROADCAST,UP>\\n" "$state"\n')
    ip.chmod(0o755)
    return {"PATH": f"{tmp_path}:{os.environ['PATH']}"}


def test_the_set_up_waits_until_its_links_are_operationally_up(tmp_path: Path) -> None:
    script = "set -e\n" + "\n".join(wait_up_lines(["a-eth0"])) + "\necho ready\n"
    env = _fake_ip(tmp_path, ["LOWERLAYERDOWN", "DOWN", "UP"])
    done = subprocess.run(["sh", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=10, check=False)
    assert (done.returncode, done.stdout) == (0, "ready\n")
    assert (tmp_path / "states").read_text() == "UP\n"   # asked until it was UP, not once more
    env = _fake_ip(tmp_path, ["DOWN"])
    done = subprocess.run(["sh", "-c", "\n".join(wait_up_lines(["a-eth0"], tries=3)) + "\necho ready\n"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=10, check=False)
    assert done.returncode == 1 and "ready" not in done.stdout
    assert "not operationally UP after 0.03 s: a-eth0" in done.stderr
    assert wait_up_lines([]) == []


def test_a_node_waits_only_for_the_interfaces_it_is_given() -> None:
    setup = node_setup("client", {}, [IntfSettings("client-eth0", "100.64.1.10/24")],
                       wait_up=["client-eth0"])
    script = node_script(setup)
    assert "client-eth0@*)" in script and script.index("ip -batch") < script.index("client-eth0@*)")
    assert "@*)" not in node_script(node_setup("client", {}, [IntfSettings("client-eth0")]))

"""br_netfilter detection on fake /proc, /sys and /lib/modules trees, and the lab-start error."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from natsim.errors import LabError
from natsim.lab.kernel import SYSCTL, BrNetfilter, br_netfilter_state, require_sysctls
from natsim.middleboxes import render
from natsim.middleboxes.base import RenderContext
from natsim.middleboxes.cpe_bridge import CpeBridge

CPE_SYSCTLS = render(CpeBridge(), RenderContext("cpe", ("eth0",), ("eth1",))).sysctls


def _write(root: Path, relative: str, text: str = "") -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def _sysctl(root: Path, value: str = "1") -> None:
    _write(root, "proc/sys/" + SYSCTL.replace(".", "/"), value + "\n")


def test_built_in_has_the_sysctl_but_no_module_entry(tmp_path: Path) -> None:
    _sysctl(tmp_path)
    (tmp_path / "sys/module/br_netfilter").mkdir(parents=True)  # a built-in may have a dir, never refcnt
    state = br_netfilter_state(tmp_path)
    assert (state.state, state.root_value, state.active) == (BrNetfilter.BUILTIN, "1", True)
    text = state.describe()
    assert f"built in; root namespace {SYSCTL} = 1" in text
    assert "docker0, virbr0, lxcbr0" in text and "host's iptables/nftables firewall" in text


@pytest.mark.parametrize("evidence", ["proc/modules", "sys/module/br_netfilter/refcnt"])
def test_loaded_module_is_told_apart(tmp_path: Path, evidence: str) -> None:
    _sysctl(tmp_path, "0")
    if evidence == "proc/modules":
        _write(tmp_path, "proc/modules", "br_netfilter 32768 0 - Live 0x0\n")
    else:
        _write(tmp_path, evidence, "0\n")
    state = br_netfilter_state(tmp_path)
    assert (state.state, state.root_value) == (BrNetfilter.MODULE, "0")
    assert "bypass the host firewall" in state.describe() and "modprobe -r br_netfilter" in state.describe()


def test_not_loaded_but_shipped_as_a_module(tmp_path: Path) -> None:
    _write(tmp_path, "proc/modules", "bridge 311296 0 - Live 0x0\n")
    _write(tmp_path, f"lib/modules/{os.uname().release}/modules.dep",
           "kernel/net/bridge/br_netfilter.ko.xz: kernel/net/bridge/bridge.ko.xz\n")
    state = br_netfilter_state(tmp_path)
    assert (state.state, state.root_value, state.active) == (BrNetfilter.LOADABLE, None, False)


def test_absent_refuses_a_cpe_bridge_in_one_line(tmp_path: Path) -> None:
    assert br_netfilter_state(tmp_path).state is BrNetfilter.ABSENT
    with pytest.raises(LabError) as info:
        require_sysctls("cpe", CPE_SYSCTLS, root=tmp_path)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"cpe: cpe-bridge needs {SYSCTL}, which exists only with br_netfilter, "
                              "and br_netfilter is absent; `modprobe br_netfilter` is your decision")
    assert "docker0, virbr0, lxcbr0" in message and "natsim never loads modules" in message


def test_only_bridge_sysctls_need_it(tmp_path: Path) -> None:
    assert br_netfilter_state(tmp_path).state is BrNetfilter.ABSENT
    assert "net.bridge.bridge-nf-call-iptables" in CPE_SYSCTLS
    with pytest.raises(LabError, match="cpe-bridge needs"):         # absent: a bridge cannot start
        require_sysctls("cpe", CPE_SYSCTLS, root=tmp_path)
    require_sysctls("router", {"net.netfilter.nf_conntrack_tcp_loose": "0"}, root=tmp_path)  # no error
    _sysctl(tmp_path)                                               # present: it can
    assert br_netfilter_state(tmp_path).active
    require_sysctls("cpe", CPE_SYSCTLS, root=tmp_path)                                   # no error


def test_this_machine_is_read_consistently() -> None:
    exists = Path("/proc/sys", *SYSCTL.split(".")).exists()
    assert br_netfilter_state().active is exists

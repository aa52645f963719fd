"""Checks that this machine can run natsim labs: which mode labs are built in (root, or natsim's own
user namespace, and if neither, why and the setting that allows it), Python, binaries, kernel
features. Kernel features are tried inside a throw-away network namespace (``unshare --net``; without
root inside a user namespace of its own too), so the root namespace is never touched."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from natsim.errors import NatsimError, PrivilegeError
from natsim.lab import userns
from natsim.lab.kernel import DECISION, SYSCTL, br_netfilter_state
from natsim.lab.userns_support import Mode, NamespaceRefused, Readings, explain, lab_mode


@dataclass(frozen=True)
class Check:
    """One doctor check and its outcome."""

    name: str
    ok: bool
    detail: str
    fix: str = ""
    required: bool = True


SETUP = "run `sudo make setup`"
MODE_DETAIL = {
    Mode.ROOT: "root: labs are built beside the host's namespaces (`natsim cleanup` after a crash)",
    Mode.NAMESPACE: "namespace: root inside a user namespace already; labs are built in it",
    Mode.ROOTLESS: "rootless: natsim enters a user namespace of its own (uid {uid} is root there); "
                   "the kernel removes each lab with natsim",
}
BINARIES = {
    "mnexec": "Debian package mininet", "nft": "Debian package nftables",
    "conntrack": "Debian package conntrack", "ip": "Debian package iproute2",
    "tcpdump": "Debian package tcpdump", "sshd": "Debian package openssh-server",
    "ssh": "Debian package openssh-client", "socat": "Debian package socat",
    "unshare": "Debian package util-linux",
}
#: Binaries only some probes need (a lab runs without them; that probe then fails with this hint).
OPTIONAL_BINARIES = {"wireguard-go": "Debian package wireguard-go: the wireguard probe",
                     "wg": "Debian package wireguard-tools: the wireguard probe"}

_CT_TIMEOUT = """table inet t {
  ct timeout c {
    protocol tcp
    l3proto ip
    policy = { established: 60 }
  }
  chain f {
    type filter hook forward priority filter;
    ct state new ct timeout set "c"
  }
}
"""
_CONNTRACK = """table inet t {
  chain f {
    type filter hook forward priority filter;
    ct state invalid drop
  }
}
"""
_TPROXY = """table inet t {
  chain p {
    type filter hook prerouting priority mangle;
    meta l4proto tcp tproxy ip to :50022 meta mark set 1 accept
  }
}
"""
_NAT = """table inet t {
  chain p {
    type nat hook postrouting priority srcnat;
    meta l4proto tcp snat ip to 192.0.2.1:1024-65535
  }
}
"""
_SET = """table inet t {
  set s {
    type ipv4_addr . ipv4_addr . inet_service
    flags timeout
  }
}
add element inet t s { 192.0.2.1 . 192.0.2.2 . 22 timeout 5s }
"""


def _in_netns(script: str, stdin: str | None = None) -> tuple[bool, str]:
    """Run a shell snippet in a fresh, throw-away network namespace (without root, in a user
    namespace of its own, as natsim's labs are)."""
    if shutil.which("unshare") is None:
        return False, "unshare missing"
    user = [] if os.geteuid() == 0 else ["--user", "--map-root-user"]
    try:
        proc = subprocess.run(["unshare", *user, "--net", "sh", "-c", script], input=stdin,
                              capture_output=True, text=True, timeout=20, check=False)
    except (OSError, subprocess.TimeoutExpired) as err:
        return False, str(err)
    lines = (proc.stderr or proc.stdout).strip().splitlines()
    errors = [line for line in lines if "Error" in line]
    return proc.returncode == 0, (errors or lines or [""])[0][-120:]


def mode_check(readings: Readings | None = None, trial: Callable[[], None] = userns.check) -> Check:
    """Which mode labs are built in, and why; without root, ``trial`` enters natsim's namespaces once.
    ``readings`` (default: read from /proc) explain a refusal; tests inject both."""
    try:
        mode = lab_mode()
        if mode is not Mode.ROOTLESS:
            return Check("mode", True, MODE_DETAIL[mode])
        trial()
    except NamespaceRefused as err:
        found = explain(readings or Readings.read(), err.failure)
        assert found is not None
        return Check("mode", False, f"rootless impossible: {found.reason}",
                     f"{found.fix}, or run natsim as root")
    except PrivilegeError as err:
        return Check("mode", False, str(err), "run natsim as root, or unset NATSIM_MODE")
    return Check("mode", True, MODE_DETAIL[Mode.ROOTLESS].format(uid=os.geteuid()))


def run_checks() -> list[Check]:
    """All checks, in display order."""
    checks = [mode_check()]
    version = ".".join(map(str, sys.version_info[:3]))
    checks.append(Check("python >= 3.11", sys.version_info[:2] >= (3, 11), version,
                        "use Python 3.11 or newer: " + SETUP))
    for binary, package in BINARIES.items():
        path = shutil.which(binary) or shutil.which(binary, path="/usr/sbin:/sbin")
        checks.append(Check(f"binary {binary}", path is not None, path or "not found",
                            f"{SETUP} ({package})"))
    for binary, package in OPTIONAL_BINARIES.items():
        path = shutil.which(binary)
        checks.append(Check(f"binary {binary}", path is not None, path or "not found", f"{SETUP} ({package})",
                            required=False))
    checks.append(_mininet_check())
    if not checks[0].ok:
        checks.append(Check("kernel features", False, "not checked: no mode to build labs in",
                            "see the mode check"))
        return checks
    kernel = [
        ("netns + nf_tables", "nft -f -", "table inet t { }", "kernel with CONFIG_NF_TABLES"),
        ("conntrack (ct state)", "nft -f -", _CONNTRACK, "kernel with CONFIG_NFT_CT"),
        ("ct timeout objects", "nft -f -", _CT_TIMEOUT, "kernel with CONFIG_NFT_CT timeout support"),
        ("NAT (snat)", "nft -f -", _NAT, "kernel with CONFIG_NFT_NAT"),
        ("tproxy", "nft -f -", _TPROXY, "kernel with CONFIG_NFT_TPROXY"),
        ("nft sets with timeouts", "nft -f -", _SET, "nftables >= 0.9"),
        ("conntrack sysctls per namespace",
         "sysctl -q -w net.netfilter.nf_conntrack_tcp_loose=0 "
         "net.netfilter.nf_conntrack_tcp_timeout_established=60",
         None, "kernel with CONFIG_NF_CONNTRACK"),
        ("veth pairs", "ip link add v0 type veth peer name v1", None, "kernel with CONFIG_VETH"),
    ]
    for name, script, stdin, fix in kernel:
        ok, detail = _in_netns(script, stdin)
        checks.append(Check(name, ok, "ok" if ok else detail, fix))
    checks.append(br_netfilter_check())
    checks.append(kept_check())
    return checks


def kept_check() -> Check:
    """This user's labs kept up (``natsim lab up``), so one left up is not forgotten; a warning when
    one's keeper is gone."""
    from natsim.lab.kept import Registry, Status
    from natsim.units import format_duration

    try:
        with Registry.open(create=False) as registry:
            labs = registry.entries()
    except (OSError, NatsimError) as err:
        return Check("labs kept up", False, str(err), "see docs/lab.md, \"A lab that stays up\"",
                     required=False)
    if not labs:
        return Check("labs kept up", True, "none")
    left = [lab.name for lab in labs if lab.status() in (Status.BROKEN, Status.GONE)]
    detail = ", ".join(f"{lab.name} ({lab.topology}, {lab.mode}, {lab.status().value}, "
                       f"{format_duration(int(lab.age()))} old)" for lab in labs)
    return Check("labs kept up", not left, detail,
                 f"their keeper is gone: natsim lab down {' '.join(left[:1]) or 'NAME'}", required=False)


def _mininet_check() -> Check:
    """Mininet importable, and where its ``distutils.version`` comes from (see mininet_compat)."""
    try:
        from natsim.lab import mininet_compat
    except ImportError as err:
        return Check("python mininet", False, str(err), SETUP)
    origin = str(getattr(sys.modules.get("distutils.version"), "__file__", ""))
    source = "natsim's stand-in (no distutils)" if mininet_compat.SHIMMED \
        else "setuptools' copy" if "setuptools" in Path(origin).parts else f"the standard library ({origin})"
    return Check("python mininet", True, f"importable; distutils.version: {source}")


def br_netfilter_check() -> Check:
    """br_netfilter: how it is provided, what it does to the host, and a per-namespace trial.

    Reads the root namespace's sysctl, never writes it; the trial runs in a throw-away namespace.
    Not required: only ``cpe-bridge`` labs need it, and loading it is the user's decision.
    """
    state = br_netfilter_state()
    fix = f"only cpe-bridge labs need it: {DECISION}"
    if not state.active:
        return Check("br_netfilter (cpe-bridge)", False, state.describe(), fix, required=False)
    ok, detail = _in_netns(f"ip link add b0 type bridge && sysctl -q -w {SYSCTL}=1")
    if not ok:
        return Check("br_netfilter (cpe-bridge)", False, f"{state.describe()}; per namespace: {detail}",
                     "kernel >= 5.3 (the sysctl is per namespace since 5.3)", required=False)
    return Check("br_netfilter (cpe-bridge)", True, state.describe() + "; per namespace: ok")

"""A snapshot of the root network namespace: what natsim promises never to change.

Links, named namespaces, addresses, routes and rules of every table, the nftables ruleset, and the
sysctls a lab library may rewrite behind natsim's back (Mininet's ``fixLimits``) or that a
middlebox sets in its own namespace (forwarding, conntrack, bridge netfilter, keepalive). Also the
host's ``~/.ssh`` (root's, and ``$SUDO_USER``'s): every file's name, size, mtime and hash, which an
``ssh`` run inside a lab must never change.
"""

from __future__ import annotations

import hashlib
import os
import pwd
import re
import subprocess
from pathlib import Path

#: Root-namespace sysctls that must never change (read only).
SYSCTLS = (
    "net.core.rmem_max", "net.core.wmem_max", "net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem",
    "net.core.netdev_max_backlog", "net.ipv4.neigh.default.gc_thresh1",
    "net.ipv4.neigh.default.gc_thresh2", "net.ipv4.neigh.default.gc_thresh3", "kernel.pty.max",
    "net.ipv4.ip_forward", "net.netfilter.nf_conntrack_tcp_loose",
    "net.netfilter.nf_conntrack_tcp_timeout_established", "net.bridge.bridge-nf-call-iptables",
    "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_keepalive_intvl", "net.ipv4.tcp_keepalive_probes",
)


def _out(argv: list[str]) -> str:
    return subprocess.run(argv, capture_output=True, text=True, check=False).stdout


def _sysctl(name: str) -> str:
    path = "/proc/sys/" + name.replace(".", "/")
    try:
        with open(path) as f:
            return " ".join(f.read().split())
    except OSError:
        return "(absent)"


def ssh_dirs() -> list[Path]:
    """``~/.ssh`` of root and of the user who ran sudo (if any), from the password database."""
    homes = [pwd.getpwuid(0).pw_dir]
    user = os.environ.get("SUDO_USER")
    if user:
        try:
            homes.append(pwd.getpwnam(user).pw_dir)
        except KeyError:
            pass
    return [Path(home) / ".ssh" for home in dict.fromkeys(homes)]


def _tree(directory: Path) -> str:
    """Every entry under ``directory`` (links not followed): name, type, size, mtime, SHA-256."""
    if not os.path.lexists(directory):
        return "(absent)"
    lines = []
    for root, dirs, files in os.walk(directory):
        dirs.sort()
        for name in sorted(dirs + files):
            path = Path(root) / name
            st = path.lstat()
            regular = path.is_file() and not path.is_symlink()
            digest = hashlib.sha256(path.read_bytes()).hexdigest() if regular else ""
            lines.append(f"{path.relative_to(directory)} {st.st_mode:o} {st.st_size} {st.st_mtime_ns} "
                         f"{digest}")
    return "\n".join(lines) or "(empty)"


def snapshot() -> dict[str, str]:
    """The root namespace's state, comparable with ``==`` (counters and link stats left out)."""
    links = _out(["ip", "-o", "link", "show"])
    return {
        "links": " ".join(sorted(re.findall(r"^\d+: (\S+)", links, re.M))),
        "named netns": _out(["ip", "netns", "list"]),
        "addresses": re.sub(r"valid_lft.*", "", _out(["ip", "-o", "addr", "show"])),
        "routes": _out(["ip", "route", "show", "table", "all"]),
        "rules": _out(["ip", "rule", "show"]),
        "ruleset": _out(["nft", "list", "ruleset"]),
        **{name: _sysctl(name) for name in SYSCTLS},
        **{str(directory): _tree(directory) for directory in ssh_dirs()},
    }


def differences(before: dict[str, str], after: dict[str, str]) -> list[str]:
    """Human-readable differences between two snapshots."""
    return [f"{key}: {before.get(key)!r} -> {after.get(key)!r}"
            for key in sorted(set(before) | set(after)) if before.get(key) != after.get(key)]

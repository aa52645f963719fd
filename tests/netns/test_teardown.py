"""Nothing of a lab survives: normal exit, exception, SIGINT, SIGTERM; SIGKILL + natsim cleanup."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from natsim.lab import Lab
from natsim.lab.cleanup import pids_in_namespaces
from natsim.lab.registry import LabRecord, all_records

pytestmark = pytest.mark.netns
NATSIM = [sys.executable, "-m", "natsim.cli"]


def root_snapshot() -> dict[str, str]:
    """What the root namespace looks like (links, routes, ruleset, a few sysctls)."""
    def out(argv: list[str]) -> str:
        return subprocess.run(argv, capture_output=True, text=True, check=False).stdout
    links = re.sub(r"\s+", " ", out(["ip", "-o", "link", "show"]))
    links = re.sub(r"(RX|TX|link/ether)\S*", "", links)
    return {"links": " ".join(sorted(re.findall(r"^\d+: (\S+)", out(["ip", "-o", "link", "show"]), re.M))),
            "routes": out(["ip", "route", "show", "table", "all"]),
            "ruleset": out(["nft", "list", "ruleset"]),
            "sysctls": out(["sysctl", "net.ipv4.ip_forward", "net.netfilter.nf_conntrack_tcp_loose",
                            "net.core.rmem_max", "net.ipv4.tcp_rmem", "kernel.pty.max"])}


def assert_gone(record: LabRecord) -> None:
    assert pids_in_namespaces(set(record.namespaces.values())) == []
    assert not record.path.exists()
    for entry in [*record.shells, *record.processes]:
        assert not entry.alive(), entry


def test_normal_exit_leaves_nothing_and_root_namespace_unchanged() -> None:
    before = root_snapshot()
    with Lab("isp-bridge-cgn") as lab:
        lab.popen("server", ["sleep", "300"])
        record = LabRecord.load(lab.record.path)  # type: ignore[union-attr]
        assert len(record.namespaces) == 5
        assert len(set(record.namespaces.values())) == 5
    assert_gone(record)
    assert root_snapshot() == before


def test_exception_inside_the_lab_leaves_nothing() -> None:
    with pytest.raises(RuntimeError, match="boom"), Lab("home-nat") as lab:
        record = LabRecord.load(lab.record.path)  # type: ignore[union-attr]
        raise RuntimeError("boom")
    assert_gone(record)


def test_two_labs_side_by_side_do_not_collide() -> None:
    with Lab("isp-bridge-cgn") as first, Lab("isp-bridge-cgn") as second:
        assert first.lab_id != second.lab_id
        for lab in (first, second):
            code, out = lab.run("client", "ping -c1 -W2 203.0.113.10")
            assert code == 0, out
        inner = LabRecord.load(second.record.path)  # type: ignore[union-attr]
    assert_gone(inner)


def start_cli_lab(tmp_path: Path) -> tuple[subprocess.Popen[str], LabRecord]:
    """``natsim lab ... --run 'server sleep 120'`` in a subprocess; wait until it is up."""
    proc = subprocess.Popen([*NATSIM, "lab", "home-nat", "--run", "server sleep 120"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    assert proc.stdout is not None
    first = proc.stdout.readline()
    match = re.match(r"lab (\w+) ", first)
    assert match, first
    path = next(r.path for r in all_records() if r.lab_id == match.group(1))
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # wait for the sleep to run inside the server node
        record = LabRecord.load(path)
        if len(pids_in_namespaces({record.namespaces["server"]})) >= 2:
            return proc, record
        time.sleep(0.05)
    pytest.fail("lab did not come up")


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signal_tears_the_lab_down(sig: signal.Signals, tmp_path: Path) -> None:
    proc, record = start_cli_lab(tmp_path)
    os.kill(proc.pid, sig)
    proc.wait(timeout=20)
    assert_gone(record)


def test_sigkill_leftovers_are_removed_by_natsim_cleanup(tmp_path: Path) -> None:
    proc, record = start_cli_lab(tmp_path)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    assert pids_in_namespaces(set(record.namespaces.values())), "expected leftovers after SIGKILL"
    done = subprocess.run([*NATSIM, "cleanup", "--lab", record.lab_id], capture_output=True, text=True,
                          check=False, timeout=30)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"lab {record.lab_id}: stopped" in done.stdout
    assert_gone(record)


def test_lab_command_with_sshd_lets_the_client_log_in(tmp_path: Path) -> None:
    askpass = tmp_path / "askpass.sh"
    askpass.write_text("#!/bin/sh\necho natsim\n")
    askpass.chmod(0o700)
    login = (f"SSH_ASKPASS={askpass} SSH_ASKPASS_REQUIRE=force setsid ssh -o StrictHostKeyChecking=no "
             "-o UserKnownHostsFile=/dev/null -o BatchMode=no -l root server "
             "'echo logged-in-on-$(hostname -I)'")
    done = subprocess.run([*NATSIM, "lab", "home-nat", "--sshd", "server", "--run", f"client {login}"],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "sshd on server: ssh root@198.51.100.10" in done.stdout
    assert "logged-in-on-198.51.100.10" in done.stdout

"""natsim keeps its promises to the host: labs leave the root namespace byte-identical, and tearing one
lab down (or cleaning up after a crash) never touches another lab's processes."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest

from natsim.lab import Lab
from natsim.lab.cleanup import cleanup_stale
from natsim.lab.netns import HeldNamespace
from natsim.lab.records import LabRecord, ProcessEntry
from tests.rootless import left_in, own_tmpdir, rootless_argv, rootless_env
from tests.rootstate import differences, snapshot
from tests.tiny import TINY

pytestmark = pytest.mark.natsim_netns
NATSIM = [sys.executable, "-m", "natsim.cli"]
#: Labs torn down (and stale records cleaned up) while the survivor runs.
REPEATS = 100


def natsim(*args: str, timeout: float = 300, rootless: bool = False,
           tmpdir: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run natsim in a fresh process: as it is, or as a rootless command (natsim's own namespaces);
    ``tmpdir``: its ``$TMPDIR``."""
    env = {**(rootless_env() if rootless else os.environ), **({"TMPDIR": str(tmpdir)} if tmpdir else {})}
    argv = rootless_argv(*args) if rootless else [*NATSIM, *args]
    return subprocess.run(argv, env=env, cwd="/" if rootless else None, capture_output=True, text=True,
                          timeout=timeout, check=False)


@pytest.mark.parametrize("rootless", [False, True], ids=["as-is", "rootless"])
@pytest.mark.parametrize("args", [
    ("lab", "home-nat", "--run", "client true"),
    ("lab", "isp-bridge-cgn", "--run", "client ping -c1 -W2 203.0.113.10"),
    ("lab", "dc-ssh-proxy", "--run", "client1 true"),
    ("lab", "home-nat", "--sshd", "server", "--run", "client true"),
    ("lab", "dc-load-balancer", "--set", "lb.preset=azure-lb-tcp-reset", "--time-scale", "40",
     "--run", "client ping -c1 -W2 203.0.113.10"),
    ("lab", "dc-firewall", "--set", "fw.preset=cisco-asa", "--run", "client ping -c1 -W2 198.51.100.10"),
    ("conform", "home-nat:router", "--only", "rfc5382-req1"),
    ("run", "TINY"),
], ids=["lab-home-nat", "lab-bridge", "lab-ssh-proxy", "lab-sshd", "lab-load-balancer", "lab-firewall",
        "conform", "run"])
def test_a_natsim_command_leaves_the_root_namespace_unchanged(args: tuple[str, ...], rootless: bool,
                                                             tmp_path: Path) -> None:
    """Each command runs in a fresh process, so nothing done once per process can hide a change. The
    rootless run enters natsim's own namespaces (as an ordinary user, or nested in this session's)."""
    if args == ("run", "TINY"):
        work = Path(tempfile.mkdtemp(prefix="natsim-host-safety-"))   # an ordinary user can write here
        work.chmod(0o777)
        (work / "tiny.yaml").write_text(TINY)
        args = ("run", str(work / "tiny.yaml"), "--out", str(work / "out"))
    before = snapshot()
    with own_tmpdir() as tmpdir:
        done = natsim(*args, rootless=rootless, tmpdir=tmpdir)
        if args[0] == "run":
            shutil.rmtree(Path(args[1]).parent, ignore_errors=True)
        assert done.returncode == 0, done.stdout + done.stderr
        assert differences(before, snapshot()) == []
        assert left_in(tmpdir) == []    # nothing natsim made is left in its $TMPDIR


def _held(lab: Lab) -> dict[str, HeldNamespace]:
    assert lab.record is not None
    held = {e.node: HeldNamespace.of_process(e) for e in lab.record.shells}
    assert all(held.values())
    return held  # type: ignore[return-value]


def test_teardown_and_cleanup_never_touch_a_parallel_lab() -> None:
    """One lab keeps a process alive while another is built and torn down again and again, and stale
    records that name the survivor's namespace inodes (the kernel reuses inode numbers) and its PIDs
    with other start times (PIDs are reused too) are cleaned up. The survivor is untouched."""
    with Lab("home-nat") as survivor:
        keeper = survivor.popen("server", ["sleep", "600"])
        held = _held(survivor)
        assert survivor.record is not None
        deadline = time.monotonic() + 10   # mnexec enters the namespace just after it is started
        while keeper.pid not in held["server"].members() and time.monotonic() < deadline:
            time.sleep(0.01)
        members = {node: ns.members() for node, ns in held.items()}
        assert keeper.pid in members["server"]
        try:
            for i in range(REPEATS):
                with Lab("home-nat") as victim:
                    victim.popen("server", ["sleep", "600"])
                    assert victim.record is not None
                    dead = LabRecord.load(victim.record.path)
                forged = LabRecord(
                    lab_id=f"{survivor.lab_id}f{i}", owner_pid=dead.owner_pid, owner_start=1,
                    topology="home-nat", namespaces=dict(survivor.record.namespaces),
                    shells=[ProcessEntry(e.pid, e.start, e.node, e.what) for e in dead.shells],
                    processes=[ProcessEntry(keeper.pid, keeper.entry.start + 1, "server", "sleep")])
                forged.save()
                (report,) = cleanup_stale(forged.lab_id)
                assert sorted(report.untrusted) == sorted(survivor.record.namespaces)
                assert report.killed == [] and not forged.path.exists()
                assert keeper.entry.alive() and keeper.popen.poll() is None
                assert {node: ns.members() for node, ns in held.items()} == members
            code, out = survivor.run("client", "ping -c1 -W2 198.51.100.10")
            assert code == 0, out
        finally:
            for ns in held.values():
                ns.close()


#: What a user types to log in to ``--sshd server`` (the password comes from SSH_ASKPASS, as if typed;
#: ``accept-new`` as if they answered "yes" to the host-key question).
SSH_LOGIN = ("env SSH_ASKPASS={askpass} SSH_ASKPASS_REQUIRE=force ssh -o BatchMode=no "
             "-o StrictHostKeyChecking=accept-new server echo lab-login-ok")


def test_ssh_in_a_lab_never_writes_the_hosts_ssh_state(tmp_path: Path, natsim_lab: Any) -> None:
    """`client ssh server` (docs/lab.md) keeps the lab's throw-away host key in the lab: typed in
    `natsim lab --run`, in the Mininet CLI, or run through the natsim_lab fixture. On the host,
    root's (and $SUDO_USER's) ~/.ssh stays exactly as it was, and each next lab — a new host key at
    the same address — still logs in (no "REMOTE HOST IDENTIFICATION HAS CHANGED")."""
    from natsim.probes.ssh.sshd import openssh_server

    askpass = tmp_path / "askpass"
    askpass.write_text("#!/bin/sh\necho natsim\n")
    askpass.chmod(0o700)
    login = SSH_LOGIN.format(askpass=askpass)
    before = snapshot()
    done = natsim("lab", "home-nat", "--sshd", "server", "--run", f"client {login}")
    assert done.returncode == 0 and "lab-login-ok" in done.stdout, done.stdout + done.stderr
    typed = subprocess.run([*NATSIM, "lab", "home-nat", "--sshd", "server"], input=f"client {login}\nexit\n",
                           capture_output=True, text=True, timeout=300, check=False)
    shown = typed.stdout + typed.stderr   # the Mininet CLI's own output goes to stderr
    assert typed.returncode == 0 and "lab-login-ok" in shown, shown
    lab = natsim_lab("home-nat")
    with openssh_server(lab, "server", password="natsim"):
        code, out = lab.run("client", lab.substitute(login))
    assert code == 0 and "lab-login-ok" in out, out
    assert differences(before, snapshot()) == []

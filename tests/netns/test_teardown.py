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
from natsim.lab.home import home_parent
from natsim.lab.netns import HeldNamespace
from natsim.lab.records import LabRecord, all_records
from natsim.lab.userns_support import private_run
from tests.rootless import left_in, own_tmpdir
from tests.rootstate import differences, snapshot

pytestmark = pytest.mark.natsim_netns
NATSIM = [sys.executable, "-m", "natsim.cli"]


def hold_namespaces(lab: Lab) -> dict[str, HeldNamespace]:
    """A second hold on each of the lab's namespaces, to look inside them after teardown."""
    assert lab.record is not None
    held = {e.node: HeldNamespace.of_process(e) for e in lab.record.shells}
    assert all(held.values())
    return held  # type: ignore[return-value]


def assert_gone(record: LabRecord, held: dict[str, HeldNamespace]) -> None:
    """No process is left in any of the lab's namespaces, none it started runs, the record and the
    lab's home directory (natsim.lab.home) are gone."""
    try:
        assert {node: ns.members() for node, ns in held.items()} == {node: [] for node in held}
    finally:
        for ns in held.values():
            ns.close()
    assert not record.path.exists()
    assert record.home and not Path(record.home).exists()
    for entry in [*record.shells, *record.processes]:
        assert not entry.alive(), entry


def test_normal_exit_leaves_nothing_and_root_namespace_unchanged() -> None:
    before = snapshot()
    with Lab("isp-bridge-cgn") as lab:
        lab.popen("server", ["sleep", "300"])
        record = LabRecord.load(lab.record.path)  # type: ignore[union-attr]
        held = hold_namespaces(lab)
        assert len(record.namespaces) == 5
        assert len(set(record.namespaces.values())) == 5
    assert_gone(record, held)
    assert differences(before, snapshot()) == []


def test_exception_inside_the_lab_leaves_nothing() -> None:
    with pytest.raises(RuntimeError, match="boom"), Lab("home-nat") as lab:
        record = LabRecord.load(lab.record.path)  # type: ignore[union-attr]
        held = hold_namespaces(lab)
        raise RuntimeError("boom")
    assert_gone(record, held)


def test_a_callers_run_directory_is_made_once_the_record_names_it(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """``Lab(run_dir=...)`` (``natsim run``'s work directory) creates it, private, after the record that
    names it is saved: a SIGKILL at any moment leaves nothing `natsim cleanup` cannot find. It is the
    caller's to remove."""
    run_dir, seen = tmp_path / "natsim-run-x", []
    save = LabRecord.save

    def saving(record: LabRecord) -> None:
        seen.append((record.run_dir, run_dir.exists()))
        save(record)

    monkeypatch.setattr(LabRecord, "save", saving)
    with Lab("home-nat", run_dir=run_dir) as lab:
        assert lab.record is not None and LabRecord.load(lab.record.path).run_dir == str(run_dir)
        assert run_dir.is_dir() and run_dir.stat().st_mode & 0o777 == 0o700
    assert seen[0] == (str(run_dir), False)
    assert run_dir.is_dir()


def test_two_labs_side_by_side_do_not_collide() -> None:
    with Lab("isp-bridge-cgn") as first, Lab("isp-bridge-cgn") as second:
        assert first.lab_id != second.lab_id
        for lab in (first, second):
            code, out = lab.run("client", "ping -c1 -W2 203.0.113.10")
            assert code == 0, out
        inner = LabRecord.load(second.record.path)  # type: ignore[union-attr]
        held = hold_namespaces(second)
    assert_gone(inner, held)


Started = tuple[subprocess.Popen[str], LabRecord, dict[str, HeldNamespace]]


def start_cli_lab(tmp_path: Path, *more: str, tmpdir: Path | None = None) -> Started:
    """``natsim lab ... --run 'server sleep 120'`` (``more``: further arguments; ``tmpdir``: its
    ``$TMPDIR``) in a subprocess; wait until it is up; hold its namespaces (through its recorded
    shells) to look inside them later."""
    env = {**os.environ, **({"TMPDIR": str(tmpdir)} if tmpdir is not None else {})}
    proc = subprocess.Popen([*NATSIM, "lab", "home-nat", *more, "--run", "server sleep 120"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True, env=env)
    assert proc.stdout is not None
    first = proc.stdout.readline()
    match = re.match(r"lab (\w+) ", first)
    assert match, first
    path = next(r.path for r in all_records() if r.lab_id == match.group(1))
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # wait for the sleep to run inside the server node
        record = LabRecord.load(path)
        if len(record.shells) == 3:
            held = {e.node: HeldNamespace.of_process(e) for e in record.shells}
            if all(held.values()) and len(held["server"].members()) >= 2:  # type: ignore[union-attr]
                return proc, record, held  # type: ignore[return-value]
            for ns in held.values():
                if ns is not None:
                    ns.close()
        time.sleep(0.05)
    pytest.fail("lab did not come up")


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_signal_tears_the_lab_down(sig: signal.Signals, tmp_path: Path) -> None:
    proc, record, held = start_cli_lab(tmp_path)
    os.kill(proc.pid, sig)
    assert proc.wait(timeout=20) == 130
    assert_gone(record, held)


def test_signals_during_teardown_wait_until_it_is_done(tmp_path: Path) -> None:
    """A burst of Ctrl-C, SIGTERM and SIGHUP (an impatient user, a closing terminal) does not cut the
    teardown short: every process and namespace is still removed."""
    proc, record, held = start_cli_lab(tmp_path)
    for sig in (signal.SIGINT, signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        os.kill(proc.pid, sig)
        time.sleep(0.02)
    assert proc.wait(timeout=20) == 130
    assert_gone(record, held)


def test_sigkill_leftovers_are_removed_by_natsim_cleanup(tmp_path: Path) -> None:
    """... the lab's directory too (its home, sshd's files; in /dev/shm where that is a tmpfs, else in
    $TMPDIR): natsim's record names it. Nothing is left in $TMPDIR."""
    with own_tmpdir() as tmpdir:
        proc, record, held = start_cli_lab(tmp_path, "--sshd", "server", tmpdir=tmpdir)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        assert held["server"].members(), "expected leftovers after SIGKILL"
        lab_dir = Path(LabRecord.load(record.path).home)
        assert lab_dir.parent in (home_parent() or tmpdir, tmpdir), lab_dir
        assert any(p.name.startswith("sshd-") for p in lab_dir.iterdir()), "expected sshd's files in it"
        done = subprocess.run([*NATSIM, "cleanup", "--lab", record.lab_id], capture_output=True, text=True,
                              check=False, timeout=30)
        assert done.returncode == 0, done.stdout + done.stderr
        assert f"lab {record.lab_id}: stopped" in done.stdout
        assert_gone(record, held)
        assert not lab_dir.exists()
        assert left_in(tmpdir) == []


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


SHORT = Path(__file__).parents[1] / "e2e" / "short" / "isp-modem-bridge-1h.yaml"


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_a_signal_while_the_lab_comes_up_is_one_line_and_130(sig: signal.Signals, tmp_path: Path) -> None:
    """Sent as the first command runs in a node (``-vv`` prints each one): the lab is half built."""
    before = snapshot()
    proc = subprocess.Popen([*NATSIM, "-vv", "run", str(SHORT), "--out", str(tmp_path / "out")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    assert proc.stderr is not None
    for line in proc.stderr:
        if "$ " in line:
            os.kill(proc.pid, sig)
            break
    rest = proc.stderr.read()
    assert proc.wait(timeout=60) == 130, rest
    assert "Traceback" not in rest and "KeyboardInterrupt" not in rest, rest
    said = [ln for ln in rest.splitlines() if ln.startswith("natsim: interrupted")]
    assert len(said) == 1, rest
    assert not [r for r in all_records() if r.owner_pid == proc.pid]
    assert differences(before, snapshot()) == []


def test_a_sigkilled_runs_work_directory_is_removed_by_natsim_cleanup(tmp_path: Path) -> None:
    """``natsim run`` keeps its work directory (the probes' logs, copied at the end) outside the lab's
    home: in $TMPDIR as root, on natsim's private /run inside its namespaces (this test's run as an
    ordinary user: the session's namespaces outlive the killed run); its lab's record names it, so
    `natsim cleanup` removes it with the lab, and nothing is left in $TMPDIR."""
    with own_tmpdir() as tmpdir:
        proc = subprocess.Popen([*NATSIM, "run", str(SHORT), "--out", str(tmp_path / "out")],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
                                env={**os.environ, "TMPDIR": str(tmpdir)})
        deadline, record = time.monotonic() + 60, None
        while record is None or not any("natsim.probes" in p.what for p in record.processes):
            assert time.monotonic() < deadline and proc.poll() is None, "the run's probes did not start"
            time.sleep(0.05)
            record = next((r for r in all_records() if r.owner_pid == proc.pid), None)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        run_dir = Path(record.run_dir)
        assert run_dir.parent == (private_run() or tmpdir) and run_dir.is_dir(), record.run_dir
        done = subprocess.run([*NATSIM, "cleanup", "--lab", record.lab_id], capture_output=True, text=True,
                              check=False, timeout=30)
        assert done.returncode == 0, done.stdout + done.stderr
        assert not run_dir.exists()
        assert left_in(tmpdir) == []

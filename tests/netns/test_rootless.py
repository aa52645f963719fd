"""Without root natsim forks into its own user, network, mount and PID namespaces, and whatever ends it -
SIGKILL at any moment included - the kernel removes the lab with them: no process, namespace or mount
is left, and there is nothing for ``natsim cleanup`` to do.

How "no namespace" is checked: every namespace natsim creates is held only by processes of its PID
namespace (their membership and open descriptors) and by mounts in its own mount namespace, which is
itself held only by those processes. So the test checks that no such process is left - every process
of the run carries a token in its environment and is found by it in /proc, and every process that
existed just before the kill (PID and start time) is gone - and that no mount appeared in the test's
own mount namespace. (Comparing namespace inode numbers instead would be unreliable: the kernel hands
a freed namespace's number to the next one, and parallel tests create namespaces all the time.)
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from natsim.lab.records import process_start_time
from tests.rootless import (
    NATSIM,
    TOKEN_ENV,
    as_ordinary_user,
    carrying,
    depth,
    left_in,
    mounts,
    own_tmpdir,
    process_tree,
    rootless_argv,
    rootless_env,
)

pytestmark = pytest.mark.natsim_netns
#: A lab with every kind of process natsim starts (node shells, anchors, sshd in a mount namespace of
#: its own, a command) that would run for a minute: whatever is gone within seconds of a SIGKILL was
#: removed by the kernel, not by natsim finishing on its own.
LAB = ("lab", "home-nat", "--sshd", "server", "--run", "server sleep 60")
REPEATS = 8
#: Seconds within which nothing of a killed run may be left (the lab would run for 60).
GONE_WITHIN = 10.0


def start(args: tuple[str, ...], token: str, tmpdir: Path | None = None) -> subprocess.Popen[str]:
    env = {**rootless_env(token), **({"TMPDIR": str(tmpdir)} if tmpdir is not None else {})}
    return subprocess.Popen(rootless_argv(*args), env=env, cwd="/", text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)


def wait_up(proc: subprocess.Popen[str], token: str) -> None:
    """Wait until the run's ``sleep 60`` runs in its lab node."""
    deadline = time.monotonic() + 30
    while not any(_cmdline(p).startswith(b"sleep\x0060") for p in carrying(token)):
        assert time.monotonic() < deadline and proc.poll() is None, "the lab did not come up"
        time.sleep(0.05)


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def wait_gone(token: str, before: dict[int, int | None],
              timeout: float = GONE_WITHIN) -> tuple[list[int], list[int]]:
    """Wait until no process carries ``token`` and none of ``before`` (PID -> start time) runs;
    return what is still there after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        left = carrying(token)
        old = [pid for pid, start in before.items() if start is not None and process_start_time(pid) == start]
        if (not left and not old) or time.monotonic() > deadline:
            return left, old
        time.sleep(0.05)


def inner_natsim(proc: subprocess.Popen[str]) -> int | None:
    """The process that builds the lab: natsim -> holder -> init -> inner."""
    tree = process_tree(proc.pid)
    return next((pid for pid in tree if depth(tree, pid, proc.pid) == 3), None)


@pytest.mark.parametrize("repetition", range(REPEATS))
def test_sigkill_at_a_random_moment_leaves_nothing(repetition: int) -> None:
    """A random moment of starting, entering, building or running (SIGKILL to natsim or to its inner
    process), or of tearing down after a SIGTERM (SIGKILL to the inner process, which is the one
    tearing down)."""
    seed = int(os.environ.get("NATSIM_KILL_SEED", str(time.time_ns() % 10**6))) + repetition
    rng = random.Random(seed)
    token = f"kill{seed}"
    own_mounts = mounts()
    with own_tmpdir() as tmpdir:
        what, before = _kill_at_random(rng, token, tmpdir)
        what = f"seed {seed}: {what}"
        left, old = wait_gone(token, before)
        assert left == [] and old == [], f"{what}: still running {left} {old}"
        assert mounts() == own_mounts, what
        assert left_in(tmpdir) == [], f"{what}: left in $TMPDIR"


def _kill_at_random(rng: random.Random, token: str,
                    tmpdir: Path) -> tuple[str, dict[int, int | None]]:
    """Start the lab (``$TMPDIR``: ``tmpdir``), SIGKILL natsim or its inner process at a moment drawn
    from ``rng``, wait for natsim to end; what was done and the processes just before the kill
    (PID -> start time)."""
    phase = rng.choice(["running", "tearing down"])
    proc = start(LAB, token, tmpdir)
    if phase == "running":
        delay, target = rng.uniform(0.0, 3.5), rng.choice(["natsim", "inner natsim"])
        time.sleep(delay)
    else:
        delay, target = rng.uniform(0.0, 0.3), "inner natsim"
        wait_up(proc, token)
        os.kill(proc.pid, signal.SIGTERM)
        time.sleep(delay)
    inner = inner_natsim(proc)
    victim = inner if target == "inner natsim" and inner is not None else proc.pid
    before = {pid: process_start_time(pid) for pid in set(process_tree(proc.pid)) | set(carrying(token))}
    try:
        os.kill(victim, signal.SIGKILL)
    except ProcessLookupError:
        phase = "its end (natsim had finished)"   # the teardown was quicker than the moment drawn
    proc.wait(timeout=30)
    return f"SIGKILL to {target} {victim} {delay:.2f} s into {phase} ({len(before)} processes)", before


def test_the_exit_code_and_the_output_come_back_through_the_namespaces() -> None:
    done = subprocess.run(rootless_argv("lab", "home-nat", "--run", "client echo from-inside", "--run",
                                        "server false"),
                          env=rootless_env(), cwd="/", capture_output=True, text=True, timeout=60,
                          check=False)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "from-inside" in done.stdout and "--- exit 1" in done.stdout


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_a_signal_to_natsim_reaches_the_lab_inside_and_tears_it_down(sig: signal.Signals) -> None:
    token = f"sig{sig.value}-{os.getpid()}-{time.monotonic_ns()}"
    proc = start(("lab", "home-nat", "--run", "server sleep 60"), token)
    assert proc.stdout is not None
    wait_up(proc, token)
    os.kill(proc.pid, sig)
    assert proc.wait(timeout=30) == 130, proc.stdout.read()
    assert "natsim: interrupted" in proc.stdout.read()
    assert wait_gone(token, {}) == ([], [])


REFUSE = """
import os, sys
from natsim.lab import linux
from natsim.lab.linux import _libc
_libc().prctl(38, 1, 0, 0, 0)                         # PR_SET_NO_NEW_PRIVS, as a container runtime does
linux.errno_filter(("unshare",), 1)                   # EPERM, as Docker's default seccomp profile does
os.execv(sys.executable, [sys.executable, "-m", "natsim.cli", *sys.argv[1:]])
"""


def test_where_the_kernel_refuses_natsim_says_why_and_what_allows_it() -> None:
    """A seccomp profile that forbids unshare(2), like a container's: natsim names it and the setting."""
    done = subprocess.run([*as_ordinary_user(), sys.executable, "-c", REFUSE, "lab", "home-nat", "--run",
                           "client true"], env=rootless_env(), cwd="/", capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 2, done.stdout + done.stderr
    assert ("cannot build a lab without root: a seccomp profile forbids creating user namespaces"
            in done.stderr)
    assert "to allow it: start the container with --security-opt seccomp=unconfined" in done.stderr


def test_cleanup_without_root_has_nothing_to_do() -> None:
    """... and leaves nothing in $TMPDIR (it only reads the kept labs' directory, which an ordinary
    user without $XDG_RUNTIME_DIR or $NATSIM_RUN_DIR has there)."""
    if not as_ordinary_user() and os.geteuid() == 0:
        pytest.skip("needs an ordinary user (root here, and nobody cannot run this venv)")
    env = {k: v for k, v in os.environ.items() if k not in ("NATSIM_RUN_DIR", "XDG_RUNTIME_DIR")}
    with own_tmpdir() as tmpdir:
        done = subprocess.run([*as_ordinary_user(), *NATSIM, "cleanup"],
                              env={**env, TOKEN_ENV: "c", "TMPDIR": str(tmpdir)}, cwd="/",
                              capture_output=True, text=True, timeout=60, check=False)
        assert done.returncode == 0 and "nothing to clean up without root" in done.stdout, done.stderr
        assert left_in(tmpdir) == []

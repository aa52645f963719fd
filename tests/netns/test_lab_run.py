"""``natsim lab --run`` and ``Lab.run`` as a user drives them: node names substituted (``root@server``
too), a backgrounded command does not hang the run, and ``--run-timeout`` stops a command that does
not end."""

from __future__ import annotations

import subprocess
import sys
import time
from typing import Any

import pytest

pytestmark = pytest.mark.natsim_netns
NATSIM = [sys.executable, "-m", "natsim.cli"]


def natsim(*args: str, timeout: float = 120) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.monotonic()
    done = subprocess.run([*NATSIM, *args], capture_output=True, text=True, timeout=timeout, check=False)
    return done, time.monotonic() - started


def test_a_backgrounded_command_does_not_hang_the_run() -> None:
    done, took = natsim("lab", "home-nat", "--run", "server socat TCP-LISTEN:7777,fork,reuseaddr EXEC:cat &",
                        "--run", "client sh -c 'sleep 0.5; echo hi | socat -t2 - TCP:198.51.100.10:7777'")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "hi" in done.stdout.splitlines()   # the background server answered the second command
    assert took < 60


def test_run_timeout_stops_a_command_that_does_not_end() -> None:
    done, took = natsim("lab", "home-nat", "--run-timeout", "1",
                        "--run", "client sh -c 'echo started; sleep 60'", "--run", "client echo next")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "started\n--- stopped after 1 s (--run-timeout)\n--- exit 124" in done.stdout
    assert done.stdout.rstrip().endswith("--- client$ echo next\nnext")
    assert took < 45


def test_lab_run_substitutes_node_names_like_run_does(natsim_lab: Any) -> None:
    lab = natsim_lab("home-nat")
    code, out = lab.run("client", "echo server root@server server.log")
    assert (code, out) == (0, "198.51.100.10 root@198.51.100.10 server.log\n")
    assert lab.run("client", "ping -c1 -W2 server")[0] == 0
    assert lab.run("client", ["echo", "server"]) == (0, "server\n")   # an argv is run as it is


def test_run_with_an_unwritable_out_is_one_line_before_any_lab(tmp_path: Any) -> None:
    (tmp_path / "file").write_text("")
    done, _ = natsim("run", "isp-modem-bridge-1h", "--out", str(tmp_path / "file" / "out"))
    assert done.returncode == 2
    err = done.stderr
    assert err.startswith("natsim: error: ") and "file" in err and err.count("\n") == 1, err

"""Lab runs that several tests read: each runs once per test session, whichever test asks first.

The short shipped scenarios are run by ``natsim run FILE --compare`` (tests/e2e/test_run.py checks the
command's exit, output and files) and compared connection by connection with the model
(tests/netns/test_sim_agreement.py): both read the same run instead of each bringing up its own lab.
Under xdist the tests may run in different workers at the same time: the run's directory sits in the
session's temporary root, shared by every worker, behind a file lock; the one that takes the lock first
runs the command, the other waits and reads what it wrote. A run that did not finish (its test was
killed) leaves no ``done`` file, and the next test to ask runs it again.
"""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

NATSIM = [sys.executable, "-m", "natsim.cli"]


def session_root(factory: pytest.TempPathFactory) -> Path:
    """The directory every worker of this test session shares (the session's basetemp without xdist)."""
    base = factory.getbasetemp()
    return base.parent if "PYTEST_XDIST_WORKER" in os.environ else base


def compared_run(factory: pytest.TempPathFactory, scenario: Path,
                 timeout: float = 600) -> tuple[subprocess.CompletedProcess[str], Path]:
    """``natsim run SCENARIO --out DIR --compare``, run once per session: its completed process and DIR."""
    root = session_root(factory) / "shared-runs"
    root.mkdir(exist_ok=True)
    done = root / f"{scenario.stem}.done.json"
    with (root / f"{scenario.stem}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done.exists():
            out = root / f"{scenario.stem}-{os.getpid()}"   # a fresh directory if a killed run left one
            ran = subprocess.run([*NATSIM, "run", str(scenario), "--out", str(out), "--compare"],
                                 capture_output=True, text=True, timeout=timeout, check=False)
            done.write_text(json.dumps({"out": str(out), "args": ran.args, "returncode": ran.returncode,
                                        "stdout": ran.stdout, "stderr": ran.stderr}))
        saved = json.loads(done.read_text())
    return subprocess.CompletedProcess(saved["args"], saved["returncode"], saved["stdout"],
                                       saved["stderr"]), Path(saved["out"])

"""Helpers for the kept-lab tests: natsim in a fresh process, a lab brought up and always taken down,
a screen read from a pseudo-terminal (pyte), what a lab's processes are."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from typing import Any

import pexpect
import pyte

from natsim.lab.kept import KeptLab, Registry

NATSIM = [sys.executable, "-m", "natsim.cli"]


def natsim(*args: str, env: dict[str, str] | None = None, prefix: Sequence[str] = (),
           timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """``natsim ARGS`` in a fresh process (standard input not a terminal)."""
    return subprocess.run([*prefix, *NATSIM, *args], env=env, cwd="/", stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=timeout, check=False)


def unique(stem: str) -> str:
    """A lab name no parallel test uses."""
    return f"{stem}-{secrets.token_hex(3)}"


def entry(name: str) -> KeptLab:
    """The lab's entry as natsim wrote it (this process's NATSIM_RUN_DIR)."""
    with Registry.open() as registry:
        return registry.get(name)


@contextlib.contextmanager
def kept_lab(topology: str, *args: str, name: str, env: dict[str, str] | None = None,
             prefix: Sequence[str] = ()) -> Iterator[dict[str, Any]]:
    """``natsim lab up TOPOLOGY --name NAME ARGS --json``; yields its document; takes it down after."""
    done = natsim("lab", "up", topology, "--name", name, "--json", *args, env=env, prefix=prefix)
    assert done.returncode == 0, done.stdout + done.stderr
    try:
        yield json.loads(done.stdout)
    finally:
        natsim("lab", "down", name, env=env, prefix=prefix)


def wait_for(condition: Any, timeout: float, what: str) -> None:
    """Poll ``condition()`` until true; fail with ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.1)


class Screen:
    """What a program shows in a pseudo-terminal of ``rows`` x ``columns`` (pexpect feeds pyte)."""

    def __init__(self, argv: Sequence[str], rows: int = 30, columns: int = 170,
                 env: dict[str, str] | None = None) -> None:
        self.screen = pyte.Screen(columns, rows)
        self.stream = pyte.ByteStream(self.screen)
        # the size comes from the terminal, as in a real one (pytest-xdist exports COLUMNS=80, LINES=24)
        env = {key: value for key, value in (os.environ if env is None else env).items()
               if key not in ("COLUMNS", "LINES")}
        self.child = pexpect.spawn(argv[0], list(argv[1:]), dimensions=(rows, columns), env=env,
                                   timeout=30)

    def read(self, seconds: float) -> list[str]:
        """Feed what the program writes for ``seconds``; the screen's non-empty lines."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                self.stream.feed(self.child.read_nonblocking(65536, timeout=0.1))
            except pexpect.TIMEOUT:
                pass
            except pexpect.EOF:
                break
        return [line.rstrip() for line in self.screen.display if line.strip()]

    def until(self, condition: Any, timeout: float, what: str) -> list[str]:
        """Read until ``condition(lines)`` holds; the lines then."""
        deadline = time.monotonic() + timeout
        lines = self.read(0.2)
        while not condition(lines):
            assert time.monotonic() < deadline, f"{what}; the screen:\n" + "\n".join(lines)
            lines = self.read(0.2)
        return lines

    def close(self) -> tuple[int | None, int | None]:
        """Wait for the program to end; (exit status, signal)."""
        with contextlib.suppress(pexpect.EOF, pexpect.TIMEOUT):
            self.child.expect(pexpect.EOF, timeout=20)
        self.child.close()
        return self.child.exitstatus, self.child.signalstatus


def cells(line: str) -> list[str]:
    """The cells of a rich table row (``│ a │ b │``)."""
    return [cell.strip() for cell in line.strip().strip("│").split("│")]


def lab_processes(name: str) -> dict[int, int | None]:
    """PID -> start time of every process the lab's record names, its keeper included (root mode)."""
    from natsim.lab.kept import record_path
    from natsim.lab.records import LabRecord

    lab = entry(name)
    found = {p.pid: p.start for p in lab.anchors.values()}
    if lab.keeper is not None:
        found[lab.keeper.pid] = lab.keeper.start
    record = LabRecord.load(record_path(lab.lab_id))
    found.update({p.pid: p.start for p in [*record.shells, *record.processes]})
    return found


def still_running(processes: dict[int, int | None]) -> list[int]:
    """Which of ``processes`` (PID -> start time) still run."""
    from natsim.lab.records import process_start_time, running

    return [pid for pid, start in processes.items() if process_start_time(pid) == start and running(pid)]


def own_env(**extra: str) -> dict[str, str]:
    """This process's environment plus ``extra``."""
    return {**os.environ, **extra}

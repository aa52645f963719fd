"""Helpers to run natsim as a rootless command from a test and to look for what it left behind.

``rootless_argv`` runs ``natsim`` so that it enters a user namespace of its own: as an ordinary user
directly; from root on the host as ``nobody`` (``setpriv``), when ``nobody`` can run this venv; else
(root inside a user namespace, e.g. a rootless test session) with ``NATSIM_MODE=rootless``, which
nests natsim's namespaces inside the session's. Each run carries a token in its environment, so every
process it started - however deep, in whichever namespace - can be found in /proc afterwards, and may
get a ``$TMPDIR`` of its own (:func:`own_tmpdir`), so whatever natsim leaves there is found too.
"""

from __future__ import annotations

import contextlib
import functools
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from natsim.privileges import in_user_namespace

NATSIM = [sys.executable, "-m", "natsim.cli"]
TOKEN_ENV = "NATSIM_TEST_TOKEN"
NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--"]


@functools.cache
def as_ordinary_user() -> tuple[str, ...]:
    """The prefix that runs a command as an ordinary user, or () when none is needed or possible."""
    if os.geteuid() != 0 or in_user_namespace():
        return ()
    probe = subprocess.run([*NOBODY, sys.executable, "-c", "import natsim.cli"], cwd="/",
                           capture_output=True, check=False)
    return tuple(NOBODY) if probe.returncode == 0 else ()


def rootless_env(token: str | None = None) -> dict[str, str]:
    """The environment of a rootless natsim run (with ``token`` to find its processes)."""
    env = {**os.environ, "NATSIM_MODE": "rootless", TOKEN_ENV: token or secrets.token_hex(8)}
    env.pop("PYTEST_XDIST_WORKER", None)
    return env


@contextlib.contextmanager
def own_tmpdir() -> Iterator[Path]:
    """A fresh, empty directory to be a natsim run's ``$TMPDIR`` (the ordinary user's, when the run is
    one's), removed afterwards: whatever the run leaves in its ``$TMPDIR`` is what it holds."""
    path = Path(tempfile.mkdtemp(prefix="natsim-test-tmpdir-"))
    try:
        if as_ordinary_user():
            os.chown(path, 65534, 65534)
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def left_in(tmpdir: Path) -> list[str]:
    """What is in a run's own ``$TMPDIR`` (:func:`own_tmpdir`): natsim's leftovers, sorted."""
    return sorted(os.listdir(tmpdir))


def rootless_argv(*args: str) -> list[str]:
    """``natsim ARGS`` as a rootless command (module docstring)."""
    return [*as_ordinary_user(), *NATSIM, *args]


def carrying(token: str) -> list[int]:
    """PIDs of the processes whose environment holds ``token`` (a rootless run's, see above)."""
    marker = f"{TOKEN_ENV}={token}".encode()
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            environ = Path(f"/proc/{entry.name}/environ").read_bytes()
        except OSError:
            continue
        if marker in environ.split(b"\0"):
            found.append(int(entry.name))
    return found


def process_tree(root: int) -> dict[int, int]:
    """``root`` and its descendants, PID -> parent PID (one pass over /proc)."""
    parents: dict[int, int] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                stat = Path(f"/proc/{entry.name}/stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat[stat.rindex(")") + 2:].split()[1])
    tree = {root: parents.get(root, 0)}
    grew = True
    while grew:
        grew = False
        for pid, parent in parents.items():
            if parent in tree and pid not in tree:
                tree[pid] = parent
                grew = True
    return tree


def depth(tree: dict[int, int], pid: int, root: int) -> int:
    """How many generations ``pid`` is below ``root`` in ``tree``."""
    level = 0
    while pid != root and pid in tree:
        pid, level = tree[pid], level + 1
    return level


def mounts() -> list[str]:
    """This process's mount table (mount point and source per line, IDs left out)."""
    lines = Path("/proc/self/mountinfo").read_text().splitlines()
    return sorted(" ".join(line.split()[4:5] + line.split(" - ")[1].split()[:2]) for line in lines)

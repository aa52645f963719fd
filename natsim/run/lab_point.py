"""One lab run of a sweep, in a process of its own: ``python -m natsim.run.lab_point PARENT_PID``.

The scenario (one sweep point's, already applied) arrives pickled on stdin; the run writes its report
as ``natsim run --out`` does, into a directory of its own, and the whole report goes back pickled on
stdout (a :class:`Report`'s exit code and files, as a tuple); what natsim prints goes to stderr. A
sweep's worker (:mod:`natsim.run.lab_sweep`) starts one per point, because a lab wants a
single-threaded process of its own (a Dask worker has threads and talks to its scheduler from the
host's network namespace):

* it dies with its parent (``PR_SET_PDEATHSIG``): a worker that is lost takes its labs with it;
* it builds the lab in natsim's own user, network, mount and PID namespaces
  (:mod:`natsim.lab.userns`), as root too, and writes the report in their private ``/run``, so the
  kernel removes the lab and the report's files when it ends, however it ends; ``NATSIM_MODE=root`` on
  the worker builds labs beside the host's namespaces instead (root only; a lost worker's leftovers are
  then for ``natsim cleanup``, and its report is written in a temporary directory).
"""

from __future__ import annotations

import os
import pickle
import stat
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from natsim.errors import EXIT_INTERRUPTED, NatsimError
from natsim.lab import linux
from natsim.lab.userns import Outer, enter
from natsim.lab.userns_support import MODE_ENV, Mode, lab_mode
from natsim.outfiles import LOCK_NAME

#: Exit code when the parent was gone before this process could arrange to die with it.
ORPHANED = 125


@dataclass(frozen=True)
class Report:
    """What a point's run sends back: its exit code (as ``natsim run``'s) and its report's files
    (relative path → content)."""

    exit_code: int
    files: dict[str, bytes]

    @classmethod
    def read(cls, data: bytes) -> Report | None:
        """The report a point's process sent on stdout (None when it sent nothing)."""
        if not data:
            return None
        exit_code, files = pickle.loads(data)
        return cls(int(exit_code), dict(files))


def own_namespaces() -> Outer | None:
    """Enter natsim's own namespaces unless ``NATSIM_MODE=root`` (an :class:`Outer` in this process,
    None in the inner one, or when labs are built here)."""
    return enter() if _entering() else None


def _entering() -> bool:
    forced = os.environ.get(MODE_ENV, "").strip().lower()
    environ = {**os.environ, MODE_ENV: "rootless"} if forced in ("", "auto") else dict(os.environ)
    return lab_mode(environ) is Mode.ROOTLESS


def report_files(out: Path) -> dict[str, bytes]:
    """The regular files under ``out`` (links and the lock file skipped), by relative path."""
    files: dict[str, bytes] = {}
    for root, _dirs, names in os.walk(out):
        for name in names:
            path = Path(root) / name
            if name == LOCK_NAME or not stat.S_ISREG(os.lstat(path).st_mode):
                continue
            with os.fdopen(os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC), "rb") as handle:
                files[str(path.relative_to(out))] = handle.read()
    return files


def _run(scenario: Any, private: str | None) -> Report:
    """Run ``scenario`` into a temporary directory (under ``private`` when given) and read it back."""
    from natsim.run.experiment import run_scenario
    with tempfile.TemporaryDirectory(prefix="natsim-point-", dir=private) as scratch:
        out = Path(scratch) / "out"
        code = run_scenario(scenario, out).exit_code
        return Report(code, report_files(out))


def main(argv: list[str]) -> int:
    """Run the pickled scenario on stdin; ``argv[0]`` is the parent's PID."""
    parent = int(argv[0])
    linux.die_with_parent()
    if os.getppid() != parent:       # the parent died before PR_SET_PDEATHSIG took effect
        return ORPHANED
    scenario = pickle.loads(sys.stdin.buffer.read())
    channel = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())     # stdout carries the report only
    try:
        entering = _entering()
        outer = own_namespaces()
        if outer is not None:
            return outer.wait()
        report = _run(scenario, "/run" if entering else None)
    except NatsimError as err:
        print(f"natsim: {err}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    with channel:   # plain data: run as __main__, this module's classes would not unpickle elsewhere
        channel.write(pickle.dumps((report.exit_code, report.files)))
    return report.exit_code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""One lab run of a sweep, in a process of its own: ``python -m natsim.run.lab_point OUT PARENT_PID``.

The scenario (one sweep point's, already applied) arrives pickled on stdin; the run writes OUT as
``natsim run --out OUT`` does and the exit code is that command's. A sweep's worker
(:mod:`natsim.run.lab_sweep`) starts one per point, because a lab wants a single-threaded process of
its own (a Dask worker has threads and talks to its scheduler from the host's network namespace):

* it dies with its parent (``PR_SET_PDEATHSIG``): a worker that is lost takes its labs with it;
* it builds the lab in natsim's own user, network, mount and PID namespaces
  (:mod:`natsim.lab.userns`), as root too, so the kernel removes everything it made when it ends,
  however it ends; ``NATSIM_MODE=root`` on the worker builds labs beside the host's namespaces
  instead (root only; a lost worker's leftovers are then for ``natsim cleanup``).
"""

from __future__ import annotations

import os
import pickle
import sys
from pathlib import Path

from natsim.errors import EXIT_INTERRUPTED, NatsimError
from natsim.lab import linux
from natsim.lab.userns import Outer, enter
from natsim.lab.userns_support import MODE_ENV, Mode, lab_mode

#: Exit code when the parent was gone before this process could arrange to die with it.
ORPHANED = 125


def own_namespaces() -> Outer | None:
    """Enter natsim's own namespaces unless ``NATSIM_MODE=root`` (an :class:`Outer` in this process,
    None in the inner one, or when labs are built here)."""
    forced = os.environ.get(MODE_ENV, "").strip().lower()
    environ = {**os.environ, MODE_ENV: "rootless"} if forced in ("", "auto") else dict(os.environ)
    return enter() if lab_mode(environ) is Mode.ROOTLESS else None


def main(argv: list[str]) -> int:
    """Run the pickled scenario on stdin into ``argv[0]``; ``argv[1]`` is the parent's PID."""
    out, parent = Path(argv[0]), int(argv[1])
    linux.die_with_parent()
    if os.getppid() != parent:       # the parent died before PR_SET_PDEATHSIG took effect
        return ORPHANED
    scenario = pickle.loads(sys.stdin.buffer.read())
    try:
        outer = own_namespaces()
        if outer is not None:
            return outer.wait()
        from natsim.run.experiment import run_scenario
        return run_scenario(scenario, out).exit_code
    except NatsimError as err:
        print(f"natsim: {err}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Who holds an output directory's lock (:mod:`natsim.outfiles`): the line its holder writes into the
lock file just after taking it, so a run refused in between reads an empty file."""

from __future__ import annotations

import os
import time

#: How long a refused run waits for the holder to finish writing who it is (seconds): a holder
#: starved of CPU writes late (a whole test run on 2 cores once refused a run before the line was in).
HOLDER_WAIT = 2.0


def lock_holder(fd: int, wait: float = HOLDER_WAIT) -> str:
    """The holder's line in the lock file open as ``fd`` (``another natsim run (pid N: COMMAND)``),
    read again every 10 ms while it is not complete (an empty file, or no newline yet), for up to
    ``wait`` seconds; ``another natsim`` when it never is."""
    deadline = time.monotonic() + wait
    while True:
        raw = os.pread(fd, max(os.fstat(fd).st_size, 1), 0)
        if raw.endswith(b"\n") or time.monotonic() >= deadline:
            return raw.decode(errors="replace").strip() or "another natsim"
        time.sleep(0.01)

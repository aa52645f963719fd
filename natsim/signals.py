"""Teardown is not interruptible: SIGINT, SIGTERM and SIGHUP wait until it is done.

A second Ctrl-C (or the terminal closing) during teardown would otherwise abort it halfway and leave
processes and namespaces behind. While :func:`deferred` is active the three signals are only
recorded; when it ends the previous handlers are back and each recorded signal is raised again, so
the program is interrupted right after the teardown, as the user asked.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

#: The signals that end a natsim command (and tear its lab down).
ENDING = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


@contextmanager
def deferred() -> Iterator[None]:
    """Hold off :data:`ENDING` signals for the duration of the block (main thread only: Python runs
    signal handlers there; elsewhere the block runs unprotected)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pending: list[int] = []

    def record(signum: int, frame: FrameType | None) -> None:
        pending.append(signum)

    previous = {sig: signal.signal(sig, record) for sig in ENDING}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)
        for signum in dict.fromkeys(pending):
            signal.raise_signal(signum)

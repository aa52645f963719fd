"""Running a parsed command the way every natsim entry point does (``natsim``, ``python -m
natsim.probes``): SIGTERM and SIGHUP end it as Ctrl-C does, a :class:`NatsimError` (or a file the
system refuses to read or write) is one line on stderr.

Exit codes: 0 ok, 1 a check failed, 2 error, 3 a probe could not run, 130 interrupted.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

from natsim.errors import EXIT_ERROR, EXIT_INTERRUPTED, NatsimError
from natsim.extras import missing_extra


class Terminated(KeyboardInterrupt):
    """Raised from the SIGTERM and SIGHUP handlers, so they end a command exactly as Ctrl-C does:
    context managers tear down, partial results are written, the exit code is 130."""


def on_terminate(signum: int, frame: FrameType | None) -> None:
    """The SIGTERM and SIGHUP handler: raise :class:`Terminated`."""
    raise Terminated(signal.Signals(signum).name)


@contextmanager
def ending_signals() -> Iterator[None]:
    """SIGTERM and SIGHUP raise :class:`Terminated` inside the block (main thread only: Python runs
    signal handlers there); the previous handlers are back afterwards."""
    previous = {}
    if threading.current_thread() is threading.main_thread():
        previous = {sig: signal.signal(sig, on_terminate) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)


def interrupted(err: KeyboardInterrupt) -> int:
    """Say that the command was interrupted (one line); :data:`EXIT_INTERRUPTED`."""
    print(f"natsim: interrupted{f' ({err})' if str(err) else ''}", file=sys.stderr)
    return EXIT_INTERRUPTED


def run_parsed(args: argparse.Namespace) -> int:
    """Run ``args.func(args)`` as every natsim entry point does: SIGTERM and SIGHUP tear down like
    Ctrl-C (``finally`` blocks run), a :class:`NatsimError` is one line on stderr and exit code 2, so
    is a file the system refuses (``OSError``: permission, name too long, disk full; the traceback
    with ``-vv``). The previous SIGTERM and SIGHUP handlers are restored afterwards."""
    with ending_signals():
        try:
            return int(args.func(args) or 0)
        except NatsimError as err:
            print(f"natsim: error: {err}", file=sys.stderr)
            return err.exit_code
        except ModuleNotFoundError as err:
            message = missing_extra(err)
            if message is None:
                raise
            print(f"natsim: error: {message}", file=sys.stderr)
            return EXIT_ERROR
        except OSError as err:
            logging.getLogger("natsim").debug("the system refused a file", exc_info=True)
            print(f"natsim: error: {describe_os_error(err)}", file=sys.stderr)
            return EXIT_ERROR
        except KeyboardInterrupt as err:
            return interrupted(err)


def describe_os_error(err: OSError) -> str:
    """``cannot write out/x: Permission denied`` style text of an ``OSError``."""
    what = err.strerror or str(err)
    files = [str(f) for f in (err.filename, err.filename2) if f is not None]
    return f"{' -> '.join(files)}: {what}" if files else what

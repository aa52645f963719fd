"""Running a parsed command the way every natsim entry point does (``natsim``, ``python -m
natsim.probes``): SIGTERM and SIGHUP end it as Ctrl-C does, a :class:`NatsimError` is one line on stderr.

Exit codes: 0 ok, 1 a check failed, 2 error, 130 interrupted.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from types import FrameType

from natsim.errors import EXIT_ERROR, EXIT_INTERRUPTED, NatsimError
from natsim.extras import missing_extra


class Terminated(KeyboardInterrupt):
    """Raised from the SIGTERM and SIGHUP handlers, so they end a command exactly as Ctrl-C does:
    context managers tear down, partial results are written, the exit code is 130."""


def _on_terminate(signum: int, frame: FrameType | None) -> None:
    raise Terminated(signal.Signals(signum).name)


def run_parsed(args: argparse.Namespace) -> int:
    """Run ``args.func(args)``: SIGTERM and SIGHUP tear down like Ctrl-C (``finally`` blocks run), a
    :class:`NatsimError` is one line on stderr and exit code 2. The previous SIGTERM and SIGHUP
    handlers are restored afterwards."""
    previous = {}
    if threading.current_thread() is threading.main_thread():
        previous = {sig: signal.signal(sig, _on_terminate) for sig in (signal.SIGTERM, signal.SIGHUP)}
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
    except KeyboardInterrupt as err:
        print(f"natsim: interrupted{f' ({err})' if str(err) else ''}", file=sys.stderr)
        return EXIT_INTERRUPTED
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)

"""The ``natsim`` command. Each subcommand lives in ``natsim/commands/<name>.py`` and provides
``register(subparsers)``, which adds its parser and sets ``func(args) -> int``.

Errors derived from :class:`NatsimError` print one line and exit with their code (2 for bad input
or missing privileges); SIGTERM is turned into a normal exit so every ``finally`` runs.
"""

from __future__ import annotations

import argparse
import importlib
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType

from natsim import __version__
from natsim.errors import NatsimError

#: Subcommand modules under natsim.commands, in help order.
COMMANDS = (
    "demo", "doctor", "lab", "cleanup", "run", "probe",
    "serve", "analyze", "conform", "predict", "sweep",
)


class _Terminated(SystemExit):
    """Raised from the SIGTERM handler so context managers tear down."""


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise _Terminated(128 + signum)


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser."""
    parser = argparse.ArgumentParser(
        prog="natsim",
        description="Reproduce, predict and measure middleboxes that break long-lived connections.")
    parser.add_argument("--version", action="version", version=f"natsim {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"natsim.commands.{name.replace('-', '_')}").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``natsim`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    return run_parsed(args)


def run_parsed(args: argparse.Namespace) -> int:
    """Run ``args.func(args)`` as every natsim entry point does: SIGTERM tears down like Ctrl-C would
    (``finally`` blocks run), a :class:`NatsimError` is one line on stderr and its exit code."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        return int(args.func(args) or 0)
    except NatsimError as err:
        print(f"natsim: error: {err}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        print("natsim: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

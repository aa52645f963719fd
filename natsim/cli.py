# PYTHON_ARGCOMPLETE_OK  (argcomplete's marker: the console script completes in bash/zsh)
"""The ``natsim`` command. Each subcommand lives in ``natsim/commands/<name>.py`` and provides
``register(subparsers)``, which adds its parser and sets ``func(args) -> int``.

A command that builds a lab, run by an ordinary user, first enters natsim's own user, network, mount and
PID namespaces (:mod:`natsim.lab.userns`): the lab is built there and the kernel removes it with
natsim. Commands run through :func:`natsim.entry.run_parsed`: errors derived from :class:`NatsimError` (and a
file the system refuses to read or write) print one line and exit 2; SIGTERM and SIGHUP (terminal
closed) are turned into an exception like Ctrl-C, so every ``finally`` (lab teardown) runs, and all
three print one line and exit 130, from the first line of :func:`console` on (imports, loading, a lab
coming up) to its last. Exit codes: 0 ok, 1 a check failed, 2 error, 3 a probe could not run, 130
interrupted.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import signal
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, NoReturn

from natsim import __version__, signals
from natsim.commands import BUILDS_LAB
from natsim.entry import ending_signals, interrupted, on_terminate, run_parsed
from natsim.errors import EXIT_ERROR

if TYPE_CHECKING:
    from natsim.lab.userns import Outer

#: Subcommand modules under natsim.commands, in help order, with the line ``natsim --help`` shows for
#: each: listed here so that a command line imports only the command it names (a command's module
#: imports what it runs: scenarios, the lab, every probe kind). tests/unit/test_cli_lazy.py keeps each
#: line equal to the help its module registers.
COMMANDS = {
    "demo": "run the isp-modem-bridge-1h scenario end to end and show where the report is",
    "doctor": "check the lab mode (root or rootless), Python, binaries and kernel features",
    "list": "list topologies, shipped scenarios, middlebox kinds, probe kinds and device presets",
    "lab": "bring up a topology with its middleboxes, interactively or with --run; or keep one up (up, exec, "
           "list, down)",
    "watch": "watch a middlebox's conntrack table and NAT mappings live, in a lab that is up",
    "cleanup": "remove what crashed labs left behind",
    "run": "run a scenario in the lab and check its expectations",
    "probe": "run a probe against a server (lab or real network)",
    "serve": "run the probe server (echo, sleep and UDP services; STUN with --stun)",
    "analyze": "analyse a lab capture directory (pcaps per link)",
    "conform": "test a lab middlebox against RFC 5382 (TCP) and RFC 4787 (UDP)",
    "classify": "run a NAT-type classifier command in every configuration of nat-type-matrix: expected "
                "against reported",
    "predict": "predict a scenario's outcome with the simpy model",
    "sweep": "predict a scenario over a grid of middlebox settings and probe options",
    "advise": "the largest keepalive that keeps the scenario's path open",
}


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The argument parser. Without ``argv``, every command's parser in full (the reference, shell
    completion); with it, only the command ``argv`` names is built, the others are listed by name
    and :data:`COMMANDS` line, their modules not imported (``natsim --help`` stays fast)."""
    parser = argparse.ArgumentParser(
        prog="natsim",
        description="Reproduce, predict and measure middleboxes that break long-lived connections.")
    parser.add_argument("--version", action="version", version=f"natsim {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0,
                        help="say more on stderr: -v the rulesets, sysctls and set-up commands applied "
                        "in each node; -vv every command run in a node")
    parser.add_argument("-q", "--quiet", action="store_true",
                        help="say less on stderr: errors only, no progress lines")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    chosen = None if argv is None else command_named(argv)
    for name, summary in COMMANDS.items():
        if argv is None or name == chosen:
            importlib.import_module(f"natsim.commands.{name.replace('-', '_')}").register(sub)
        else:
            sub.add_parser(name, help=summary)
    return parser


def command_named(argv: Sequence[str]) -> str | None:
    """The command ``argv`` names: its first word that is not an option (natsim's own options take
    no value), or None (``natsim --help``)."""
    return next((word for word in argv if not word.startswith("-")), None)


def main(argv: Sequence[str] | None = None, *, own_namespace: bool = False) -> int:
    """Parse ``argv`` and run the command; returns the exit code. A signal while the parser is built
    (the commands' imports) is an interruption like any other. Safe to call in-process; only with
    ``own_namespace`` (the console script) does a lab command fork into natsim's own namespaces."""
    with ending_signals():
        try:
            completing = "_ARGCOMPLETE" in os.environ   # argcomplete walks every parser
            parser = build_parser(None if completing else sys.argv[1:] if argv is None else argv)
            _complete(parser)
            args = parser.parse_args(argv)
        except KeyboardInterrupt as err:
            return interrupted(err)
        if not getattr(args, "func", None):
            parser.print_help()
            return EXIT_ERROR
        configure_logging(args.verbose, args.quiet)
        if own_namespace and vars(args).get(BUILDS_LAB, False):
            args.func = _in_own_namespace(args.func)
        return run_parsed(args)


def _complete(parser: argparse.ArgumentParser) -> None:
    """Shell completion (argcomplete): answers and exits when the shell asks, else does nothing."""
    if "_ARGCOMPLETE" not in os.environ:   # the shell is not asking: spare the import
        return
    try:
        import argcomplete
    except ImportError:   # completion is a convenience; natsim works without it
        return
    argcomplete.autocomplete(parser)


def configure_logging(verbose: int, quiet: bool) -> None:
    """natsim's own log (the ``natsim`` logger) on stderr: warnings by default, ``-v`` info (what is
    applied in each node), ``-vv`` debug (every command), ``-q`` errors only."""
    level = logging.ERROR if quiet else max(logging.DEBUG, logging.WARNING - 10 * verbose)
    log = logging.getLogger("natsim")
    log.setLevel(level)
    if not any(getattr(h, "natsim_cli", False) for h in log.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("natsim: %(message)s"))
        handler.natsim_cli = True  # type: ignore[attr-defined]
        log.addHandler(handler)


def console() -> NoReturn:
    """Entry point of the ``natsim`` console script: run, then exit. SIGTERM and SIGHUP are turned into
    an interruption first thing, so a signal during start-up ends it as one later would (one line,
    130); a signal that arrives once the command has ended (its teardown done) is ignored: the process
    is only exiting."""
    signal.signal(signal.SIGTERM, on_terminate)
    signal.signal(signal.SIGHUP, on_terminate)
    try:
        code = main(own_namespace=True)
    except KeyboardInterrupt as err:   # between main's own handlers (e.g. just after they ended)
        signal.pthread_sigmask(signal.SIG_BLOCK, signals.ENDING)
        code = interrupted(err)
    signal.pthread_sigmask(signal.SIG_BLOCK, signals.ENDING)
    sys.exit(code)


def _in_own_namespace(func: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """``func`` run in natsim's own namespaces when labs need them here; this process then waits and
    returns the inner exit code (root, or a process already inside a user namespace, runs it itself)."""
    def run(args: argparse.Namespace) -> int:
        outer = _enter_own_namespace()
        return outer.wait() if outer is not None else func(args)
    return run


def _enter_own_namespace() -> Outer | None:
    """Fork into natsim's own namespaces when labs need them here (an :class:`Outer` to wait on);
    None when this process builds labs itself (root, or already inside a user namespace)."""
    from natsim.lab.userns import enter
    from natsim.lab.userns_support import Mode, lab_mode

    return enter() if lab_mode() is Mode.ROOTLESS else None


if __name__ == "__main__":
    console()

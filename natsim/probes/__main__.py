"""``python -m natsim.probes serve|send|recv|keepalive ...``: the probe tools without the rest of the
``natsim`` command (fast to start, what labs run inside their nodes). Same options and exit codes as
``natsim serve`` and ``natsim probe KIND``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from natsim.cli import run_parsed
from natsim.commands import serve
from natsim.probes.tcp import cli as tcp_cli


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` and run the tool."""
    parser = argparse.ArgumentParser(prog="python -m natsim.probes",
                                     description="natsim's probe server and TCP probe clients")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    serve.register(sub)
    tcp_cli.register(sub)
    return run_parsed(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())

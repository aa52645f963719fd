"""``python -m natsim.probes serve|TOOL ...``: the probe server and every probe kind's tool without the
rest of the ``natsim`` command (what labs run inside their nodes). Same options and exit codes as
``natsim serve`` and ``natsim probe TOOL``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from natsim.entry import run_parsed
from natsim.probes import serve
from natsim.probes.registry import kinds
from natsim.probes.tools import add_tools


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` and run the tool."""
    parser = argparse.ArgumentParser(prog="python -m natsim.probes",
                                     description="natsim's probe server and probe tools")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    serve.register(sub)
    add_tools(sub, kinds())
    return run_parsed(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())

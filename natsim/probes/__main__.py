"""``python -m natsim.probes serve|TOOL ...``: the probe server and every probe kind's tool without the
rest of the ``natsim`` command (what labs run inside their nodes). Same options and exit codes as
``natsim serve`` and ``natsim probe TOOL``.

A lab starts one of these per probe, so it builds only the parser its command names (the server's, or
one tool's, whose kind's code alone it imports: :mod:`natsim.later`); help and an unknown command get
every parser, as ``natsim probe`` does. A tool may also be named by its kind (``tcp-send`` for
``send``, as in ``natsim probe``), as labs start them: then no other kind is even loaded (0.29 ->
0.24 s of CPU per tool start, and a lab run starts several).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from natsim.entry import run_parsed
from natsim.probes.registry import kind_alone, kinds
from natsim.probes.tools import add_tools


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` and run the tool."""
    args = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog="python -m natsim.probes",
                                     description="natsim's probe server and probe tools")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    named = args[0] if args else ""
    alone = kind_alone(named) if named and not named.startswith("-") else None
    if alone is not None and alone.tool is not None:
        tools = {alone.name: alone}
    else:
        tools = {name: k for name, k in kinds().items() if k.tool is not None and k.tool.name == named}
    if not tools:
        from natsim.probes import serve  # the server's code: asyncio, every service

        serve.register(sub)
    add_tools(sub, tools if tools or named == "serve" else kinds())
    return run_parsed(parser.parse_args(args))


if __name__ == "__main__":
    sys.exit(main())

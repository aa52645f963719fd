"""The probe tools on the command line: one subcommand per kind that has a :class:`ProbeTool`, built from
the kind alone, so a plugin's kind gets its ``natsim probe NAME`` as natsim's own do.

Every tool takes its kind's declared options as flags (:func:`~natsim.probes.options.add_cli_options`),
``--time-scale`` and the result flags (:func:`~natsim.probes.results.add_result_options`); the kind's
builder adds the tool's own flags (``--server``, ``--target``, ...) and returns what runs it.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any

from natsim.cliargs import add_time_scale
from natsim.probes.options import add_cli_options
from natsim.probes.registry import ProbeKind
from natsim.probes.results import add_result_options

#: How lab nodes start a probe tool or the probe server: ``[*TOOL_COMMAND, NAME, ...]``.
TOOL_COMMAND = (sys.executable, "-m", "natsim.probes")


def add_tools(sub: Any, kinds: Mapping[str, ProbeKind]) -> None:
    """Add a parser for each kind in ``kinds`` that has a tool, to the subparsers ``sub``."""
    for kind in kinds.values():
        if kind.tool is None:
            continue
        more = f" {kind.tool.description}" if kind.tool.description else ""
        aliases = [kind.name] if kind.name != kind.tool.name else []   # `natsim probe tcp-send` too
        parser = sub.add_parser(kind.tool.name, aliases=aliases, help=kind.summary,
                                description=f"{kind.name}: {kind.summary}.{more}")
        run = kind.tool.build(parser, kind)
        add_cli_options(parser, kind.options)
        add_time_scale(parser, note="labs: the lab waits real-world durations divided by S")
        add_result_options(parser)
        parser.set_defaults(func=run)

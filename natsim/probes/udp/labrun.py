"""Running the UDP probes inside lab nodes: their command line and how long they may take (the server
and the running tool: :mod:`natsim.probes.labtool`)."""

from __future__ import annotations

from pathlib import Path

from natsim.labview import RunningLab
from natsim.probes.labtool import RunningProbe, check_scale, start_tool, tool_of
from natsim.probes.labtool import probe_argv as family_argv
from natsim.probes.udp.options import UdpProbeOptions


def probe_argv(kind: str, options: UdpProbeOptions, json_path: Path) -> list[str]:
    """The command line that runs probe ``kind`` with ``options`` and writes ``json_path``."""
    return family_argv(kind, options, json_path, timeout_flag="--setup-timeout",
                       timeout=options.setup_timeout_wall)


def expected_wall(options: UdpProbeOptions) -> float:
    """Upper bound of a probe's wall-clock run time (set-up, longest idle, grace)."""
    longest = max(options.idles()) / options.time_scale
    return options.setup_timeout_wall + longest + options.grace_wall + 5.0


def start_probe(lab: RunningLab, node: str, kind: str, options: UdpProbeOptions, *,
                workdir: Path) -> RunningProbe:
    """Start UDP probe ``kind`` in ``node`` (the options' time scale must be the lab's)."""
    check_scale(options, lab)
    _, cli = tool_of(kind)
    return start_tool(lab, node, kind, lambda out: probe_argv(kind, options, out), options, workdir=workdir,
                      stem=f"{node}-{cli}-{options.name or 'probe'}", limit=expected_wall(options))

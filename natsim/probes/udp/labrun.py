"""Running the UDP probes inside lab nodes: their command line and how long they may take (the server
and the running tool: :mod:`natsim.probes.labtool`)."""

from __future__ import annotations

from pathlib import Path

from natsim.errors import ProbeError
from natsim.labview import RunningLab
from natsim.probes.labtool import RunningProbe, progress_path, start_tool, tool_of
from natsim.probes.options import option_fields, to_argv
from natsim.probes.tools import TOOL_COMMAND
from natsim.probes.udp.options import UdpProbeOptions


def probe_argv(kind: str, options: UdpProbeOptions, json_path: Path) -> list[str]:
    """The command line that runs probe ``kind`` with ``options`` and writes ``json_path``: the kind's
    declared options as its flags (:func:`~natsim.probes.options.to_argv`), plus where and how to run."""
    probe, cli = tool_of(kind)
    declared = probe.options(**{f.name: getattr(options, f.name) for f in option_fields(probe.options)})
    argv = [*TOOL_COMMAND, cli, "--server", options.server, *to_argv(declared),
            "--time-scale", f"{options.time_scale:g}", "--grace", f"{options.grace_wall:g}",
            "--setup-timeout", f"{options.setup_timeout_wall:g}", f"--out={json_path}",
            f"--progress={progress_path(json_path)}", "--source", "lab"]
    if options.name:
        argv.append(f"--name={options.name}")
    if options.node:
        argv.append(f"--node={options.node}")
    return argv


def expected_wall(options: UdpProbeOptions) -> float:
    """Upper bound of a probe's wall-clock run time (set-up, longest idle, grace)."""
    longest = max(options.idles()) / options.time_scale
    return options.setup_timeout_wall + longest + options.grace_wall + 5.0


def start_probe(lab: RunningLab, node: str, kind: str, options: UdpProbeOptions, *,
                workdir: Path) -> RunningProbe:
    """Start UDP probe ``kind`` in ``node`` (the options' time scale must be the lab's)."""
    if options.time_scale != lab.time_scale.factor:
        raise ProbeError(f"probe time scale {options.time_scale:g} differs from the lab's "
                         f"{lab.time_scale.factor:g}")
    _, cli = tool_of(kind)
    return start_tool(lab, node, kind, lambda out: probe_argv(kind, options, out), options, workdir=workdir,
                      stem=f"{node}-{cli}-{options.name or 'probe'}", limit=expected_wall(options))

"""Running the TCP probes inside lab nodes: their command line and how long they may take. The server
(``natsim serve``) and the running tool are the probe families' shared pieces
(:mod:`natsim.probes.labtool`)."""

from __future__ import annotations

from pathlib import Path

from natsim.kernel_facts import TCP_KEEPALIVE_INTVL, TCP_KEEPALIVE_PROBES, TIMER_WHEEL_SLACK
from natsim.labview import RunningLab
from natsim.probes.labtool import RunningProbe, check_scale, start_server, start_tool, tool_of
from natsim.probes.labtool import probe_argv as family_argv
from natsim.probes.tcp.options import TcpKeepaliveOptions, TcpProbeOptions, TcpRecvOptions
from natsim.probes.tcp.send import read_guard
from natsim.probes.toolrun import progress_path

__all__ = ["RunningProbe", "expected_wall", "probe_argv", "progress_path", "start_probe", "start_server"]


def probe_argv(kind: str, options: TcpProbeOptions, json_path: Path) -> list[str]:
    """The command line that runs probe ``kind`` with ``options`` and writes ``json_path``."""
    return family_argv(kind, options, json_path, timeout_flag="--connect-timeout",
                       timeout=options.connect_timeout_wall)


def expected_wall(kind: str, options: TcpProbeOptions) -> float:
    """Upper bound of a probe's wall-clock run time (connect, longest idle, verdict, grace)."""
    longest = max(options.idles()) / options.time_scale
    declared = tool_of(kind)[0].options
    if issubclass(declared, TcpKeepaliveOptions):
        interval = (options.keepalive_interval or TCP_KEEPALIVE_INTVL) / options.time_scale
        count = options.keepalive_count or TCP_KEEPALIVE_PROBES
        tail = longest * TIMER_WHEEL_SLACK + max(1.0, interval) * (count + 1)
        tail += options.grace_wall
    elif issubclass(declared, TcpRecvOptions):
        tail = options.grace_wall
    else:
        tail = read_guard(options)
    return options.connect_timeout_wall + longest + tail + 5.0


def start_probe(lab: RunningLab, node: str, kind: str, options: TcpProbeOptions, *,
                workdir: Path | None = None) -> RunningProbe:
    """Start probe ``kind`` in ``node`` (the options' time scale must be the lab's)."""
    _, cli = tool_of(kind)
    check_scale(options, lab)
    directory = workdir or lab.scratch("probe-")
    return start_tool(lab, node, kind, lambda out: probe_argv(kind, options, out), options, workdir=directory,
                      stem=f"{node}-{cli}-{options.name or 'probe'}", limit=expected_wall(kind, options))

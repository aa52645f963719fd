"""Running the SSH pieces inside lab nodes: go-ssh and the SSH probes (the proxy daemon is the
``ssh-proxy`` middlebox's runtime: :mod:`natsim.middleboxes.ssh_proxy.runtime`).

Every process starts through :meth:`natsim.lab.Lab.popen` (stopped with the lab). Probes run as
``python -m natsim.probes KIND ... --out FILE`` (their kind's tool) in their node and their result is
read back, so a lab run and a field run execute the same code.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from natsim.endpoint import DEFAULT, Endpoint, apply_endpoint
from natsim.errors import ProbeError
from natsim.labview import RunningLab
from natsim.outfiles import open_new
from natsim.paths import inside
from natsim.probes.registry import kind as probe_kind
from natsim.probes.ssh.backends import GO_SSH_PORT, LAB_PASSWORD, LAB_USER
from natsim.probes.tools import TOOL_COMMAND
from natsim.report.schema import ProbeResult, RunResult


def start_go_ssh(lab: RunningLab, node: str = "gossh", *, port: int = GO_SSH_PORT, user: str = LAB_USER,
                 password: str = LAB_PASSWORD, workdir: Path | None = None) -> Any:
    """Start go-ssh in ``node``; returns the LabProcess once it listens."""
    directory = workdir or lab.scratch("gossh-")
    log = inside(directory, f"go-ssh-{node}.log")
    with open_new(log) as out:
        proc = lab.popen(node, [sys.executable, "-m", "natsim.probes.ssh.goserver", "--port", str(port),
                                "--user", user, "--password", password,
                                "--host-key", str(inside(directory, f"go-ssh-{node}.key"))],
                         stdout=out, stderr=subprocess.STDOUT)
    lab.wait_port(node, port, proc, timeout=15.0, log=log)
    return proc


def scale_os_keepalive(lab: RunningLab, node: str, endpoint: Endpoint = DEFAULT) -> list[str]:
    """Write ``node``'s TCP sysctls (its scenario's ``hosts:`` settings, else Linux's defaults) at the
    lab's time scale, which ssh-idle's TCPKeepAlive variant depends on; notes on rounding."""
    return apply_endpoint(lab, node, endpoint)


def run_ssh_probe(lab: RunningLab, node: str, kind: str, args: list[str], *, timeout: float = 300.0,
                  workdir: Path | None = None, progress: Path | None = None) -> ProbeResult:
    """Run the tool of probe ``kind`` with ``args`` inside ``node`` at the lab's time scale; return its
    result.

    The JSON result and the probe's output go to ``workdir`` (kept), or to a temporary directory that
    is removed afterwards (a failure's output is quoted in the :class:`ProbeError`). ``progress``: the
    probe's ``--progress`` file.
    """
    if workdir is None:
        scratch = lab.scratch("sshprobe-")
        try:
            return run_ssh_probe(lab, node, kind, args, timeout=timeout, workdir=scratch, progress=progress)
        except ProbeError as err:   # its log goes with the scratch directory: the message quotes it
            raise ProbeError(str(err)) from err
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    stamp = f"{node}-{kind}-{time.monotonic_ns()}"
    json_path, log_path = inside(workdir, f"{stamp}.json"), inside(workdir, f"{stamp}.log")
    tool = probe_kind(kind).tool
    if tool is None:
        raise ProbeError(f"probe kind {kind!r} has no tool to run in a lab node")
    argv = [*TOOL_COMMAND, tool.name, *args, "--time-scale", f"{lab.time_scale.factor:g}",
            f"--out={json_path}", "--source", "lab", f"--node={node}",
            *([f"--progress={progress}"] if progress else [])]
    with open_new(log_path) as out:
        proc = lab.popen(node, argv, stdout=out, stderr=subprocess.STDOUT)
    try:
        code = proc.popen.wait(timeout=timeout)
    except subprocess.TimeoutExpired as err:
        proc.stop()
        raise ProbeError(f"{node}: {kind} did not finish within {timeout:g} s: "
                         f"{log_path.read_text(errors='replace')[-800:]}", log=log_path) from err
    if code != 0 or not json_path.exists():
        raise ProbeError(f"{node}: {kind} exited {code}: {log_path.read_text(errors='replace')[-800:]}",
                         log=log_path)
    return RunResult.load(json_path).probes[0]

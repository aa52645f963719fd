"""Running the SSH pieces inside lab nodes: go-ssh, the proxy daemon, and the SSH probes.

Every process starts through :meth:`natsim.lab.Lab.popen` (stopped with the lab). Probes run as
``python -m natsim.probes.ssh_cli KIND ... --json FILE`` in their node and their result is read back,
so a lab run and a field run execute the same code.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from natsim.errors import LabError, ProbeError
from natsim.lab.sshd import wait_listening
from natsim.middleboxes.ssh_proxy import SshProxy
from natsim.paths import inside
from natsim.probes.ssh_goserver import DEFAULT_PASSWORD, DEFAULT_PORT, DEFAULT_USER
from natsim.proxy.settings import config_json
from natsim.report.schema import ProbeResult, RunResult

SSH_CLI = (sys.executable, "-m", "natsim.probes.ssh_cli")
#: Linux keepalive defaults (real-world seconds) that ssh-idle's TCPKeepAlive variant depends on.
OS_KEEPALIVE = {"tcp_keepalive_time": 7200, "tcp_keepalive_intvl": 75}


@dataclass
class ProxyHandle:
    """The proxy daemon running in the firewall node."""

    process: Any          # LabProcess
    host_key_pub: str     # "ssh-ed25519 base64 comment"
    log: Path             # the daemon's session log

    def lines(self) -> list[str]:
        """Session log lines so far."""
        return [ln for ln in self.log.read_text(errors="replace").splitlines() if "session=" in ln]


def start_go_ssh(lab: Any, node: str = "gossh", *, port: int = DEFAULT_PORT, user: str = DEFAULT_USER,
                 password: str = DEFAULT_PASSWORD, workdir: Path | None = None) -> Any:
    """Start go-ssh in ``node``; returns the LabProcess once it listens."""
    directory = workdir or Path(tempfile.mkdtemp(prefix="natsim-gossh-"))
    log = inside(directory, f"go-ssh-{node}.log")
    with open(log, "w") as out:
        proc = lab.popen(node, [sys.executable, "-m", "natsim.probes.ssh_goserver", "--port", str(port),
                                "--user", user, "--password", password,
                                "--host-key", str(inside(directory, f"go-ssh-{node}.key"))],
                         stdout=out, stderr=subprocess.STDOUT)
    wait_listening(lab, node, port, proc, 15.0, log)
    return proc


def start_proxy(lab: Any, node: str = "fw", *, workdir: Path | None = None,
                extra_args: tuple[str, ...] = ()) -> ProxyHandle:
    """Start the proxy daemon in the ssh-proxy node with that node's config and the lab's time scale."""
    config = lab.middleboxes.get(node)
    if not isinstance(config, SshProxy):
        raise LabError(f"node {node} is not an ssh-proxy")
    directory = workdir or Path(tempfile.mkdtemp(prefix="natsim-proxy-"))
    key, log = directory / "proxy_host_key", directory / "proxy.log"
    argv = [sys.executable, "-m", "natsim.proxy", "--config", config_json(config),
            "--time-scale", f"{lab.time_scale.factor:g}", "--host-key", str(key), *extra_args]
    with open(log, "w") as out:
        proc = lab.popen(node, argv, stdout=out, stderr=subprocess.STDOUT)
    wait_listening(lab, node, config.listen_port, proc, 15.0, log)
    return ProxyHandle(proc, Path(str(key) + ".pub").read_text().strip(), log)


def scale_os_keepalive(lab: Any, node: str) -> list[str]:
    """Scale ``node``'s keepalive sysctls (7200 s, 75 s) by the lab's time scale; notes on rounding."""
    notes, values = [], []
    for name, real in OS_KEEPALIVE.items():
        exact = lab.time_scale.to_lab(real)
        lab_value = max(1, round(exact))
        values.append(f"net.ipv4.{name}={lab_value}")
        if abs(lab_value - exact) > 1e-9:
            notes.append(f"{node}.{name}: {real} s -> {lab_value} s (exact {exact:.3f}, rounded)")
    code, out = lab.run(node, ["sysctl", "-q", "-w", *values])
    if code != 0:
        raise LabError(f"{node}: sysctl failed: {out.strip()}")
    return notes


def run_ssh_probe(lab: Any, node: str, kind: str, args: list[str], *, timeout: float = 300.0,
                  workdir: Path | None = None) -> ProbeResult:
    """Run ``natsim probe KIND ARGS`` inside ``node`` at the lab's time scale; return its result.

    The JSON result and the probe's output go to ``workdir`` (kept), or to a temporary directory that
    is removed afterwards (a failure's output is quoted in the :class:`ProbeError`).
    """
    if workdir is None:
        with tempfile.TemporaryDirectory(prefix="natsim-sshprobe-") as scratch:
            return run_ssh_probe(lab, node, kind, args, timeout=timeout, workdir=Path(scratch))
    stamp = f"{node}-{kind}-{time.monotonic_ns()}"
    json_path, log_path = inside(workdir, f"{stamp}.json"), inside(workdir, f"{stamp}.log")
    argv = [*SSH_CLI, kind, *args, "--time-scale", f"{lab.time_scale.factor:g}", "--json", str(json_path),
            "--source", "lab", "--node", node]
    with open(log_path, "w") as out:
        proc = lab.popen(node, argv, stdout=out, stderr=subprocess.STDOUT)
    try:
        code = proc.popen.wait(timeout=timeout)
    except subprocess.TimeoutExpired as err:
        proc.stop()
        raise ProbeError(f"{node}: {kind} did not finish within {timeout:g} s: "
                         f"{log_path.read_text(errors='replace')[-800:]}") from err
    if code != 0 or not json_path.exists():
        raise ProbeError(f"{node}: {kind} exited {code}: {log_path.read_text(errors='replace')[-800:]}")
    return RunResult.load(json_path).probes[0]

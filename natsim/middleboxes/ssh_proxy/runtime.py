"""What an ``ssh-proxy`` runs besides its ruleset: the proxy daemon (``python -m natsim.proxy``) in its
node, with the node's config and the lab's time scale."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from natsim.errors import LabError
from natsim.labview import NodeProcess, RunningLab
from natsim.middleboxes.ssh_proxy.config import SshProxy, config_json
from natsim.outfiles import open_new


@dataclass
class ProxyHandle:
    """The proxy daemon running in the firewall node."""

    process: NodeProcess
    host_key_pub: str     # "ssh-ed25519 base64 comment"
    log: Path             # the daemon's session log

    def lines(self) -> list[str]:
        """Session log lines so far."""
        return [ln for ln in self.log.read_text(errors="replace").splitlines() if "session=" in ln]


def start_proxy(lab: RunningLab, node: str = "fw", *, workdir: Path | None = None,
                extra_args: tuple[str, ...] = ()) -> ProxyHandle:
    """Start the proxy daemon in the ssh-proxy node ``node``; return once it listens."""
    config = lab.middleboxes.get(node)
    if not isinstance(config, SshProxy):
        raise LabError(f"node {node} is not an ssh-proxy")
    directory = workdir or lab.scratch("proxy-")
    key, log = directory / "proxy_host_key", directory / "proxy.log"
    argv = [sys.executable, "-m", "natsim.proxy", "--config", config_json(config),
            "--time-scale", f"{lab.time_scale.factor:g}", "--host-key", str(key),
            "--node", node, "--run-seed", str(lab.seed), *extra_args]
    with open_new(log) as out:
        proc = lab.popen(node, argv, stdout=out, stderr=subprocess.STDOUT)
    lab.wait_port(node, config.listen_port, proc, timeout=15.0, log=log)
    return ProxyHandle(proc, Path(str(key) + ".pub").read_text().strip(), log)


def runtime(config: SshProxy, lab: RunningLab, node: str, workdir: Path) -> ProxyHandle:
    """The kind's runtime: called by the lab once the ruleset is applied."""
    return start_proxy(lab, node, workdir=workdir)

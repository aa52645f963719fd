"""What a ``load-balancer`` runs besides its ruleset: with ``expired: reset-both-at-expiry``, the reset
daemon (:mod:`.resetd`) in its node. Also which hosts serve what is addressed to its virtual IP."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from natsim.errors import LabError
from natsim.labview import NodeProcess, RunningLab
from natsim.middleboxes.load_balancer.config import Expiry, LoadBalancer
from natsim.outfiles import open_new

#: How long the daemon may take to start (Python start-up on a loaded two-core machine).
START_TIMEOUT = 15.0


@dataclass
class ResetDaemon:
    """The reset daemon running in the load balancer's node."""

    process: NodeProcess
    log: Path

    def resets(self) -> list[dict[str, object]]:
        """The resets it made so far (one dict per flow: client, vip, backend, idle in lab seconds)."""
        lines = self.log.read_text(errors="replace").splitlines()
        return [entry for entry in map(json.loads, (ln for ln in lines if ln.startswith("{")))
                if entry.get("event") == "reset"]


def backends(config: LoadBalancer) -> tuple[str, ...]:
    """The hosts that serve connections to the virtual IP: the backends."""
    return config.backends


def start_daemon(config: LoadBalancer, lab: RunningLab, node: str, workdir: Path) -> ResetDaemon:
    """Start the reset daemon in ``node`` with the established timeout its ruleset sets; return once
    it reads packets."""
    timeout = config.policy().scaled(node, lab.time_scale)[0][1].lab
    log = workdir / f"{node}-resetd.log"
    argv = [sys.executable, "-m", "natsim.middleboxes.load_balancer.resetd", "--timeout", str(timeout),
            "--ports", ",".join(map(str, config.ports))]
    with open_new(log) as out:
        proc = lab.popen(node, argv, stdout=out, stderr=subprocess.STDOUT)
    give_up = time.monotonic() + START_TIMEOUT
    while time.monotonic() < give_up:
        if log.exists() and '"ready"' in log.read_text(errors="replace"):
            return ResetDaemon(proc, log)
        if proc.popen.poll() is not None:
            break
        time.sleep(0.05)
    raise LabError(f"{node}: the load balancer's reset daemon did not start: "
                   f"{log.read_text(errors='replace')[-600:] if log.exists() else 'no output'}")


def runtime(config: LoadBalancer, lab: RunningLab, node: str, workdir: Path) -> ResetDaemon | None:
    """The kind's runtime: the reset daemon when flows are reset at expiry, else nothing."""
    if config.expired is not Expiry.RESET_BOTH_AT_EXPIRY:
        return None
    return start_daemon(config, lab, node, workdir)

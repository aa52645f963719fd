"""What an ``ssh-proxy`` runs besides its ruleset: the proxy daemon in its node."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from natsim.middleboxes.ssh_proxy.config import SshProxy


def runtime(config: SshProxy, lab: Any, node: str, workdir: Path) -> Any:
    """Start the proxy daemon in ``node`` (called by the lab once the ruleset is applied)."""
    from natsim.probes.ssh_lab import start_proxy  # the lab side of the SSH tools

    return start_proxy(lab, node, workdir=workdir)

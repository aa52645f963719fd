"""The daemon's settings: the ``ssh-proxy`` middlebox config plus limits, all in lab seconds.

The config is passed as JSON (``--config``) so the daemon needs no scenario file; durations in it
are real-world and divided by the time scale here. Limits protect the daemon from bad clients.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from natsim.errors import ProxyError
from natsim.middleboxes import build_config
from natsim.middleboxes.ssh_proxy.config import SshProxy
from natsim.units import TimeScale


@dataclass(frozen=True)
class Limits:
    """Bounds on what one client may cost (lab seconds, counts, bytes)."""

    sniff_timeout: float = 5.0        # wait for the client's first bytes; then relay as non-SSH
    connect_timeout: float = 10.0     # TCP connect to the backend
    handshake_timeout: float = 15.0   # backend key exchange, once the client asked to log in
    login_timeout: float = 60.0       # client side: from accept to authenticated
    fin_linger: float = 2.0           # after the FIN, how long to wait for the client to close
    max_sessions: int = 1000          # concurrent sessions; more are closed at once


@dataclass(frozen=True)
class ProxySettings:
    """Everything the daemon needs, in lab time."""

    config: SshProxy
    time_scale: TimeScale = field(default_factory=TimeScale)
    limits: Limits = field(default_factory=Limits)
    node: str = "fw"           # the firewall node and the run's seed seed the bypass draws
    run_seed: int = 0

    @classmethod
    def from_json(cls, text: str, time_scale: float = 1.0, limits: Limits | None = None, *,
                  node: str = "fw", run_seed: int = 0) -> ProxySettings:
        """Parse ``{"ports": [2222], "bypass": "3720s-3840s", ...}`` (the middlebox settings)."""
        try:
            values: Any = json.loads(text) if text.strip() else {}
        except json.JSONDecodeError as err:
            raise ProxyError(f"--config is not valid JSON: {err}") from err
        if not isinstance(values, dict):
            raise ProxyError(f"--config must be a JSON object, got {type(values).__name__}")
        config = build_config(SshProxy.kind, values, prefix=f"{SshProxy.kind}.")
        assert isinstance(config, SshProxy)
        return cls(config=config, time_scale=TimeScale(time_scale), limits=limits or Limits(), node=node,
                   run_seed=run_seed)

    @property
    def server_version(self) -> str:
        """The banner without its ``SSH-2.0-`` prefix (what asyncssh wants)."""
        return self.config.banner.removeprefix("SSH-2.0-")

    def intercepts(self, port: int) -> bool:
        """Whether connections to ``port`` are intercepted (empty port list: all)."""
        return self.config.intercepts(port)


class BypassDuration:
    """Bypass durations (the config's draw, the same as the model's), in lab milliseconds."""

    def __init__(self, settings: ProxySettings) -> None:
        self.scale = settings.time_scale
        self.next = settings.config.bypass_draw(settings.run_seed, settings.node)

    def draw(self) -> tuple[float, int]:
        """One draw: (real-world seconds, lab milliseconds >= 1)."""
        real = self.next()
        return real, max(1, round(self.scale.to_lab(real) * 1000))

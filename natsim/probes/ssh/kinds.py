"""The SSH probes (ssh-first-connect, ssh-bypass-timer, ssh-kex, ssh-idle): options, lab drivers,
models. The probe tools are ``natsim probe ssh-*`` (``natsim.probes.ssh.cli``)."""

from natsim.probes.registry import ProbeKind
from natsim.probes.ssh.driver import bypass_timer, first_connect, idle, kex
from natsim.probes.ssh.idle_model import IdleProbe
from natsim.probes.ssh.model import BypassTimerProbe, FirstConnectProbe, KexProbe
from natsim.probes.ssh.options import (
    SshBypassTimerOptions,
    SshFirstConnectOptions,
    SshIdleOptions,
    SshKexOptions,
    idle_user_code,
)

FIRST_CONNECT = ProbeKind("ssh-first-connect", SshFirstConnectOptions, first_connect, FirstConnectProbe,
                          summary="log in N times in a row: banner, key exchange and outcome per attempt")
BYPASS_TIMER = ProbeKind("ssh-bypass-timer", SshBypassTimerOptions, bypass_timer, BypassTimerProbe,
                         summary="how long a firewall lets a failed tuple pass unproxied")
KEX = ProbeKind("ssh-kex", SshKexOptions, kex, KexProbe,
                summary="the server's banner and key-exchange list, without logging in")
IDLE = ProbeKind("ssh-idle", SshIdleOptions, idle, IdleProbe,
                 summary="OpenSSH sessions left idle (ServerAliveInterval, TCPKeepAlive variants)",
                 user_code=idle_user_code)

__all__ = ["BYPASS_TIMER", "FIRST_CONNECT", "IDLE", "KEX"]

"""The SSH probes (ssh-first-connect, ssh-bypass-timer, ssh-kex, ssh-idle): every fact of each kind, once.

Their tools are ``natsim probe ssh-*`` (:mod:`.cli`); which server each talks to is its ``backend``
option (:mod:`.backends`), so no kind has a fixed service.
"""

from natsim.probes.registry import ProbeKind, ProbeTool, ScaleLimit
from natsim.probes.ssh import cli
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

#: The SSH clients' and servers' own timers (ServerAliveInterval, LoginGraceTime, the proxy's
#: bypass list) are whole seconds; the SSH kinds are verified exact at 60 (the lab tests), not above.
SSH_LIMIT = ScaleLimit(60.0, "ssh's own timers are whole seconds; verified exact at 60 (the lab tests' "
                             "scale), not above")
#: ssh-idle is verified at 120 (tests/e2e/short/ssh-idle-serveralive.yaml: ServerAliveInterval 300 s is
#: 2 lab seconds there, rounded and reported, and changes no verdict), not above.
IDLE_LIMIT = ScaleLimit(120.0, "ServerAliveInterval and the OS keepalive timers are whole seconds; "
                               "verified exact at 120 (the lab tests' short ssh-idle scenario), not above")

FIRST_CONNECT = ProbeKind(
    SshFirstConnectOptions.kind, SshFirstConnectOptions, first_connect, FirstConnectProbe,
    tool=ProbeTool(SshFirstConnectOptions.kind, cli.FIRST_CONNECT, "The 'first ssh always fails' check."),
    summary="log in N times in a row: banner, key exchange and outcome per attempt",
    scale_limit=SSH_LIMIT)
BYPASS_TIMER = ProbeKind(
    SshBypassTimerOptions.kind, SshBypassTimerOptions, bypass_timer, BypassTimerProbe,
    tool=ProbeTool(SshBypassTimerOptions.kind, cli.BYPASS_TIMER,
                   "Growing waits by --step after an interception, then bisection down to "
                   "--resolution; the bracket is in real-world seconds."),
    summary="how long a firewall lets a failed tuple pass unproxied",
    scale_limit=SSH_LIMIT)
KEX = ProbeKind(
    SshKexOptions.kind, SshKexOptions, kex, KexProbe,
    tool=ProbeTool(SshKexOptions.kind, cli.KEX, "Names known intercepting proxies by their banner."),
    summary="the server's banner and key-exchange list, without logging in",
    scale_limit=SSH_LIMIT)
IDLE = ProbeKind(
    SshIdleOptions.kind, SshIdleOptions, idle, IdleProbe,
    tool=ProbeTool(SshIdleOptions.kind, cli.IDLE,
                   "Each --variant is IDLE[,Option=value...] or NAME=IDLE[,...], e.g. "
                   "'2h,ServerAliveInterval=300'."),
    summary="OpenSSH sessions left idle (ServerAliveInterval, TCPKeepAlive variants)",
    user_code=idle_user_code, scale_limit=IDLE_LIMIT)

__all__ = ["BYPASS_TIMER", "FIRST_CONNECT", "IDLE", "KEX"]

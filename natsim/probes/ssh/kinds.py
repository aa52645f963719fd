"""The SSH probes (ssh-first-connect, ssh-bypass-timer, ssh-kex, ssh-idle): every fact of each kind, once.

Their tools are ``natsim probe ssh-*`` (:mod:`.cli`); which server each talks to is its ``backend``
option (:mod:`.backends`), so no kind has a fixed service.
"""

from natsim.later import later
from natsim.probes.registry import ProbeKind, ProbeTool, ScaleLimit
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

# The kinds' lab drivers, models and tools are imported when used (natsim.later).
FIRST_CONNECT = ProbeKind(
    SshFirstConnectOptions.kind, SshFirstConnectOptions, later("natsim.probes.ssh.driver:first_connect"),
    later("natsim.probes.ssh.model:FirstConnectProbe"),
    tool=ProbeTool(SshFirstConnectOptions.kind, later("natsim.probes.ssh.cli:FIRST_CONNECT"),
                   "The 'first ssh always fails' check."),
    summary="log in N times in a row: banner, key exchange and outcome per attempt",
    scale_limit=SSH_LIMIT)
BYPASS_TIMER = ProbeKind(
    SshBypassTimerOptions.kind, SshBypassTimerOptions, later("natsim.probes.ssh.driver:bypass_timer"),
    later("natsim.probes.ssh.model:BypassTimerProbe"),
    tool=ProbeTool(SshBypassTimerOptions.kind, later("natsim.probes.ssh.cli:BYPASS_TIMER"),
                   "Growing waits by --step after an interception, then bisection down to "
                   "--resolution; the bracket is in real-world seconds."),
    summary="how long a firewall lets a failed tuple pass unproxied",
    scale_limit=SSH_LIMIT)
KEX = ProbeKind(
    SshKexOptions.kind, SshKexOptions, later("natsim.probes.ssh.driver:kex"),
    later("natsim.probes.ssh.model:KexProbe"),
    tool=ProbeTool(SshKexOptions.kind, later("natsim.probes.ssh.cli:KEX"),
                   "Names known intercepting proxies by their banner."),
    summary="the server's banner and key-exchange list, without logging in",
    scale_limit=SSH_LIMIT)
IDLE = ProbeKind(
    SshIdleOptions.kind, SshIdleOptions, later("natsim.probes.ssh.driver:idle"),
    later("natsim.probes.ssh.idle_model:IdleProbe"),
    tool=ProbeTool(SshIdleOptions.kind, later("natsim.probes.ssh.cli:IDLE"),
                   "Each --variant is IDLE[,Option=value...] or NAME=IDLE[,...], e.g. "
                   "'2h,ServerAliveInterval=300'."),
    summary="OpenSSH sessions left idle (ServerAliveInterval, TCPKeepAlive variants)",
    user_code=idle_user_code, scale_limit=IDLE_LIMIT)

__all__ = ["BYPASS_TIMER", "FIRST_CONNECT", "IDLE", "KEX"]

"""The TCP idle-timeout probes (tcp-send, tcp-recv, tcp-keepalive): every fact of each kind, once.

The tools are ``natsim probe send|recv|keepalive`` (:mod:`.cli`); the services they talk to are served
by ``natsim serve`` (:mod:`natsim.probes.serve`, wire format in :mod:`.protocol`).
"""

from natsim.kernel_facts import HZ
from natsim.later import later
from natsim.probes.registry import ProbeKind, ProbeTool, ScaleLimit
from natsim.probes.tcp.options import TcpKeepaliveOptions, TcpRecvOptions, TcpSendOptions
from natsim.probes.tcp.protocol import ECHO, SLEEP
from natsim.sim.cttable import ESTABLISHED
from natsim.units import TimeScale

#: Imported when used (:mod:`natsim.later`): a lab node's tool process needs none of them but its own.
driver = later("natsim.probes.tcp.driver:driver")
DURATIONS = "Durations are real-world (1m, 2h4m, 90s); the lab waits duration/--time-scale."

#: Their verdicts depend on the established timeout alone: a connection is set up, idles established,
#: then speaks; the transitory timers (handshake, close) never decide whether it survives.
IDLE_ONLY = frozenset({ESTABLISHED})
#: Measured (benchmarks/time_scales.py: isp-modem-bridge-1h's send and recv at 60, 120, 300, 600, the
#: same verdicts as the model's at each): at 600 a 1 min ladder step is 100 ms of lab time, 25 kernel
#: ticks (expiry precision, 1/HZ), and TCP_USER_TIMEOUT is milliseconds. Not measured above.
LADDER_LIMIT = ScaleLimit(600.0, f"a 1 min step is then 100 ms of lab time, {int(0.1 * HZ)} kernel ticks; "
                          "exact verdicts measured up to 600 on this kernel")


def _whole_keepalive_seconds(options: TcpKeepaliveOptions, scale: float) -> bool:
    """Every idle time and the keepalive interval are whole lab seconds at ``scale``: the tool scales
    them with :meth:`~natsim.units.TimeScale.kernel_seconds` (TCP_KEEPIDLE and TCP_KEEPINTVL take whole
    seconds) and nothing is rounded."""
    times = [*options.idles(), *([options.keepalive_interval] if options.keepalive_interval else [])]
    lab = TimeScale(scale)
    return not any(lab.kernel_seconds("keepalive", t, strict=False).rounded for t in times)


#: TCP_KEEPIDLE and TCP_KEEPINTVL are whole seconds: at 60 a 1 min step is 1 s; above, idles round,
#: unless every idle time and the interval are whole lab seconds at that scale.
KEEPALIVE_LIMIT = ScaleLimit(60.0, "TCP_KEEPIDLE is whole seconds: a 1 min step is 1 s at 60, "
                             "rounded above it unless every idle time and the keepalive interval are "
                             "whole lab seconds", exact_above=_whole_keepalive_seconds)

SEND = ProbeKind(TcpSendOptions.kind, TcpSendOptions, driver, later("natsim.probes.tcp.model:SendProbe"),
                 service=ECHO, tool=ProbeTool("send", later("natsim.probes.tcp.cli:SEND"), DURATIONS),
                 summary="after each idle time write 'A' and expect it back (the client speaks first)",
                 scale_limit=LADDER_LIMIT, conntrack_states=IDLE_ONLY)
RECV = ProbeKind(TcpRecvOptions.kind, TcpRecvOptions, driver, later("natsim.probes.tcp.model:RecvProbe"),
                 service=SLEEP, tool=ProbeTool("recv", later("natsim.probes.tcp.cli:RECV"), DURATIONS),
                 summary="the server answers after each idle time (the server speaks first)",
                 scale_limit=LADDER_LIMIT, conntrack_states=IDLE_ONLY)
KEEPALIVE = ProbeKind(TcpKeepaliveOptions.kind, TcpKeepaliveOptions, driver,
                      later("natsim.probes.tcp.model:KeepaliveProbe"), service=ECHO,
                      tool=ProbeTool("keepalive", later("natsim.probes.tcp.cli:KEEPALIVE"), DURATIONS),
                      summary="TCP keepalive probes each connection after its idle time",
                      scale_limit=KEEPALIVE_LIMIT, conntrack_states=IDLE_ONLY)

__all__ = ["KEEPALIVE", "RECV", "SEND"]

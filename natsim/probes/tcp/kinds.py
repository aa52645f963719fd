"""The TCP idle-timeout probes (tcp-send, tcp-recv, tcp-keepalive): every fact of each kind, once.

The tools are ``natsim probe send|recv|keepalive`` (:mod:`.cli`); the services they talk to are served
by ``natsim serve`` (:mod:`natsim.probes.serve`, wire format in :mod:`.protocol`).
"""

from natsim.probes.registry import ProbeKind, ProbeTool
from natsim.probes.tcp.cli import DURATIONS, tool
from natsim.probes.tcp.driver import driver
from natsim.probes.tcp.keepalive import run_keepalive
from natsim.probes.tcp.model import KeepaliveProbe, RecvProbe, SendProbe
from natsim.probes.tcp.options import TcpKeepaliveOptions, TcpRecvOptions, TcpSendOptions
from natsim.probes.tcp.protocol import ECHO, SLEEP
from natsim.probes.tcp.recv import run_recv
from natsim.probes.tcp.send import run_send

SEND = ProbeKind(TcpSendOptions.kind, TcpSendOptions, driver, SendProbe, service=ECHO,
                 tool=ProbeTool("send", tool(run_send, warn_without_user_timeout=True), DURATIONS),
                 summary="after each idle time write 'A' and expect it back (the client speaks first)")
RECV = ProbeKind(TcpRecvOptions.kind, TcpRecvOptions, driver, RecvProbe, service=SLEEP,
                 tool=ProbeTool("recv", tool(run_recv), DURATIONS),
                 summary="the server answers after each idle time (the server speaks first)")
KEEPALIVE = ProbeKind(TcpKeepaliveOptions.kind, TcpKeepaliveOptions, driver, KeepaliveProbe, service=ECHO,
                      tool=ProbeTool("keepalive", tool(run_keepalive), DURATIONS),
                      summary="TCP keepalive probes each connection after its idle time")

__all__ = ["KEEPALIVE", "RECV", "SEND"]

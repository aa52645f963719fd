"""The TCP idle-timeout probes (tcp-send, tcp-recv, tcp-keepalive): options, lab driver, model.

The probe tools themselves are ``natsim.probes.tcp.send``, ``tcp_recv``, ``tcp_keepalive`` and the
server ``natsim.probes.tcp.server`` (``natsim probe send|recv|keepalive``, ``natsim serve``).
"""

from natsim.probes.registry import ProbeKind
from natsim.probes.tcp.driver import driver
from natsim.probes.tcp.model import KeepaliveProbe, RecvProbe, SendProbe
from natsim.probes.tcp.options import TcpKeepaliveOptions, TcpRecvOptions, TcpSendOptions

SEND = ProbeKind("tcp-send", TcpSendOptions, driver, SendProbe,
                 summary="after each idle time write 'A' and expect it back (the client speaks first)")
RECV = ProbeKind("tcp-recv", TcpRecvOptions, driver, RecvProbe,
                 summary="the server answers after each idle time (the server speaks first)")
KEEPALIVE = ProbeKind("tcp-keepalive", TcpKeepaliveOptions, driver, KeepaliveProbe,
                      summary="TCP keepalive probes each connection after its idle time")

__all__ = ["KEEPALIVE", "RECV", "SEND"]

"""The UDP idle probes (udp-send, udp-recv, udp-keepalive) and real WireGuard tunnels (wireguard): every
fact of each kind, once.

The tools are ``natsim probe udp-send|udp-recv|udp-keepalive`` (:mod:`.cli`); the service they talk to
is served by ``natsim serve`` (:mod:`natsim.probes.serve`, wire format in :mod:`.datagram`).
"""

from natsim.probes.registry import ProbeKind, ProbeTool
from natsim.probes.udp.cli import DURATIONS, build
from natsim.probes.udp.datagram import UDP_ECHO
from natsim.probes.udp.driver import driver
from natsim.probes.udp.model import model
from natsim.probes.udp.options import UdpKeepaliveOptions, UdpRecvOptions, UdpSendOptions, WireguardOptions
from natsim.probes.udp.wgdriver import driver as wireguard_driver
from natsim.probes.udp.wgmodel import model as wireguard_model

SEND = ProbeKind(UdpSendOptions.kind, UdpSendOptions, driver, model, service=UDP_ECHO,
                 tool=ProbeTool(UdpSendOptions.kind, build, DURATIONS),
                 summary="after each idle time the client sends a datagram and expects its echo (the "
                         "client speaks first)")
RECV = ProbeKind(UdpRecvOptions.kind, UdpRecvOptions, driver, model, service=UDP_ECHO,
                 tool=ProbeTool(UdpRecvOptions.kind, build, DURATIONS),
                 summary="the server answers after each idle time (the server speaks first: the binding "
                         "lifetime)")
KEEPALIVE = ProbeKind(UdpKeepaliveOptions.kind, UdpKeepaliveOptions, driver, model, service=UDP_ECHO,
                      tool=ProbeTool(UdpKeepaliveOptions.kind, build, DURATIONS),
                      summary="the client refreshes its flow every interval while the server stays silent "
                              "for the idle time")

WIREGUARD = ProbeKind(WireguardOptions.kind, WireguardOptions, wireguard_driver, wireguard_model,
                      service=UDP_ECHO,
                      summary="real WireGuard tunnels (wireguard-go, lab only): through each, the server "
                              "answers after the idle time; PersistentKeepalive set or off")

__all__ = ["KEEPALIVE", "RECV", "SEND", "WIREGUARD"]

"""The UDP idle probes (udp-send, udp-recv, udp-keepalive) and real WireGuard tunnels (wireguard): every
fact of each kind, once.

The tools are ``natsim probe udp-send|udp-recv|udp-keepalive`` (:mod:`.cli`); the service they talk to
is served by ``natsim serve`` (:mod:`natsim.probes.serve`, wire format in :mod:`.datagram`).
"""

from natsim.later import later
from natsim.probes.registry import ProbeKind, ProbeTool
from natsim.probes.udp.datagram import UDP_ECHO
from natsim.probes.udp.options import UdpKeepaliveOptions, UdpRecvOptions, UdpSendOptions, WireguardOptions

#: Imported when used (:mod:`natsim.later`): a lab node's tool process needs none of them but its own.
driver, model, build = later("natsim.probes.udp.driver:driver"), later("natsim.probes.udp.model:model"), \
    later("natsim.probes.udp.cli:build")
wireguard_driver = later("natsim.probes.udp.wgdriver:driver")
wireguard_model = later("natsim.probes.udp.wgmodel:model")
#: What every UDP tool's ``--help`` adds to its kind's summary.
DURATIONS = ("Durations are real-world (1m, 2h4m, 90s); the lab waits duration/--time-scale. Each "
             "connection is a UDP flow of its own (its own client port).")

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

"""tcp-send/tcp-recv ``so_keepalive``: SO_KEEPALIVE with the host's own timers, nothing of its own."""

from __future__ import annotations

import socket

from natsim.probes.options import to_argv
from natsim.probes.tcp.options import TcpSendOptions
from natsim.probes.tcp.sock import SocketOptions


def test_so_keepalive_switches_keepalive_on_and_leaves_the_timers_to_the_host() -> None:
    with socket.socket() as fresh, socket.socket() as sock:
        SocketOptions(so_keepalive=True).apply(sock)
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1
        for option in (socket.TCP_KEEPIDLE, socket.TCP_KEEPINTVL, socket.TCP_KEEPCNT):
            assert sock.getsockopt(socket.IPPROTO_TCP, option) == fresh.getsockopt(socket.IPPROTO_TCP, option)
        SocketOptions().apply(fresh)
        assert fresh.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 0


def test_the_option_reaches_the_tools_command_line() -> None:
    assert "--so-keepalive=true" in to_argv(TcpSendOptions(so_keepalive=True))
    assert not any(a.startswith("--so-keepalive") for a in to_argv(TcpSendOptions()))

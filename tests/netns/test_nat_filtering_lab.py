"""A NAT lets nothing in unsolicited: the outside cannot reach an inside address directly (root tier).

Before natsim rendered a filter, a server whose route leads through ``home-nat``'s router reached the
client's listener at 192.0.2.10 (its inside address) as if there were no NAT.
"""

from __future__ import annotations

import sys

import pytest

from natsim.lab import Lab
from natsim.middleboxes.presets import device
from natsim.units import TimeScale

from .conftest import PORT, connect_once, start_server

pytestmark = pytest.mark.natsim_netns

#: Wait for one datagram on port 5556 (argv[1] seconds), print it; a timeout ends in a traceback.
UDP_PROBE = ("import socket,sys; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('', 5556)); "
             "s.settimeout(float(sys.argv[1])); print(s.recvfrom(100)[0].decode())")


def test_the_outside_cannot_open_a_connection_to_an_inside_address() -> None:
    with Lab("home-nat", {"router": device("home-router")}, time_scale=TimeScale(1)) as lab:
        start_server(lab, node="client")
        assert connect_once(lab, "server", "192.0.2.10", PORT) == "silent"
        assert connect_once(lab, "client", "198.51.100.10", 9) == "refused"   # the way out still works


def test_the_outside_cannot_send_a_datagram_to_an_inside_address() -> None:
    with Lab("home-nat", {"router": device("home-router")}, time_scale=TimeScale(1)) as lab:
        listener = lab.popen("client", [sys.executable, "-c", UDP_PROBE, "1.5"])
        lab.run("server", [sys.executable, "-c", "import socket,time; time.sleep(0.3); "
                           "socket.socket(socket.AF_INET, socket.SOCK_DGRAM)"
                           ".sendto(b'in', ('192.0.2.10', 5556))"])
        out, err = listener.popen.communicate(timeout=10)
    assert b"timed out" in err and not out.strip()

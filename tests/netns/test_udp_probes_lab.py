"""The UDP probes through a CGN lab: real UDP flows, a real Linux NAT, the kernel's UDP timers.

The CGN's and the modem's UDP timers are set to Linux's defaults at lab speed (``nf_conntrack_udp_timeout``
30 s unreplied, ``_stream`` 120 s of the lab: 300 s and 1200 s real-world at scale 10), so a flow
whose last packet was the client's request survives 290 s (real-world) of silence and not 300 s.
Every flow's first exchange and its LATER request fall within conntrack's first 2 s, so the unreplied
timer is the one that decides. A kernel expires an entry precisely (to a tick), so the ladders sit right
at the boundary, as the TCP ones do.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from natsim.kernel_facts import CONNTRACK_UDP_TIMEOUTS
from natsim.lab import Lab
from natsim.probes.labtool import start_server
from natsim.probes.udp.labrun import start_probe
from natsim.probes.udp.options import UdpProbeOptions
from natsim.report.schema import ProbeResult, Verdict

pytestmark = pytest.mark.natsim_netns
SCALE = 10.0
SERVER = "203.0.113.10"
#: The kernel's unreplied UDP timeout, in real-world seconds at SCALE.
UNREPLIED = CONNTRACK_UDP_TIMEOUTS["unreplied"] * SCALE
#: Both stateful boxes' UDP timers: the kernel's defaults at lab speed.
LAB_SPEED = {"udp_timeout": f"{UNREPLIED:g}s",
             "udp_stream_timeout": f"{CONNTRACK_UDP_TIMEOUTS['stream'] * SCALE:g}s"}

LabFactory = Callable[..., Lab]


def ladder(first: float, count: int, step: float = 10.0, **kwargs: Any) -> UdpProbeOptions:
    return UdpProbeOptions(server=SERVER, connections=count, step=step, first=first, time_scale=SCALE,
                           grace_wall=2.0, **kwargs)


def by_idle(result: ProbeResult) -> dict[float, Verdict]:
    return {c.idle: c.verdict for c in result.connections}


@pytest.fixture
def cgn_lab(natsim_lab: LabFactory, tmp_path: Path) -> Lab:
    lab = natsim_lab("isp-bridge-cgn", {"cpe": LAB_SPEED, "cgn": LAB_SPEED}, time_scale=SCALE)
    start_server(lab, log=tmp_path / "server.log")
    return lab


def test_recv_binding_lives_as_long_as_the_kernels_unreplied_udp_timer(cgn_lab: Lab, tmp_path: Path) -> None:
    probe = start_probe(cgn_lab, "client", "udp-recv", ladder(UNREPLIED - 20, 4), workdir=tmp_path)
    result = probe.wait()
    alive, dead = Verdict.ALIVE, Verdict.DEAD
    assert by_idle(result) == {280.0: alive, 290.0: alive, 300.0: dead, 310.0: dead}
    assert all(c.detail.startswith("mapping 192.0.2.1:") for c in result.connections if c.verdict is alive)
    assert result.estimate is not None and (result.estimate.lower, result.estimate.upper) == (290.0, 300.0)
    assert "[-] Connection 2 is dead (answer)" in probe.lines


def test_send_after_the_timeout_gets_a_new_mapping_and_an_answer(cgn_lab: Lab, tmp_path: Path) -> None:
    """The client speaks first: a NAT makes a new mapping for a flow it forgot (port preservation keeps
    the port), so every datagram is answered."""
    result = start_probe(cgn_lab, "client", "udp-send", ladder(UNREPLIED - 10, 3), workdir=tmp_path).wait()
    assert set(by_idle(result).values()) == {Verdict.ALIVE}
    assert all(c.detail.startswith("mapping 192.0.2.1:") for c in result.connections)


def test_keepalive_refresh_keeps_the_binding_through_a_long_silence(cgn_lab: Lab, tmp_path: Path) -> None:
    """Keepalives every 200 s (20 s wall, after conntrack's first 2 s: the stream timer, 120 s wall)
    carry the binding through 400 s of server silence; keepalives every 1300 s (130 s wall, longer
    than either timer) do not."""
    short = start_probe(cgn_lab, "client", "udp-keepalive",
                        ladder(400.0, 1, interval=200.0, name="short"), workdir=tmp_path)
    long = start_probe(cgn_lab, "client", "udp-keepalive",
                       ladder(400.0, 1, interval=1300.0, name="long"), workdir=tmp_path)
    assert by_idle(short.wait()) == {400.0: Verdict.ALIVE}
    assert by_idle(long.wait()) == {400.0: Verdict.DEAD}

"""A NAT with ``pickup`` must not leak inside addresses: a lone FIN after expiry is dropped."""

from __future__ import annotations

from pathlib import Path

import pytest

from natsim.lab import Lab
from natsim.lab.capture import Capture
from natsim.middleboxes.conntrack.policy import Untracked
from natsim.middleboxes.cpe_bridge import CpeBridge
from natsim.middleboxes.presets import device
from natsim.units import TimeScale
from tests.lab_traffic import events, run_connector, start_listener

pytestmark = pytest.mark.natsim_netns


def test_fin_after_expiry_does_not_leave_the_cgn_untranslated(tmp_path: Path) -> None:
    # imported here, and not scapy.all (every layer, 1.5 s): each xdist worker's collection paid it
    from scapy.layers.inet import IP
    from scapy.utils import rdpcap

    cgn = device("cgn", idle_timeout=3600, untracked_outbound=Untracked.PICKUP,
                 untracked_inbound=Untracked.DROP)
    cpe = CpeBridge(idle_timeout=86400, untracked_outbound=Untracked.PICKUP,
                    untracked_inbound=Untracked.PICKUP)
    with Lab("isp-bridge-cgn", {"cgn": cgn, "cpe": cpe}, time_scale=TimeScale(240)) as lab:
        listener = start_listener(lab, "server", 7000, [["recv"]])
        with Capture(lab, tmp_path):
            # idle 17 lab s = 68 min > the CGN's 1 h, then close: the FIN meets no mapping
            run_connector(lab, "client", "203.0.113.10", 7000, [["sleep", 17], ["close"]], timeout=30)
            listener.stop()
            events(listener, timeout=5)
    outside = [p for p in rdpcap(str(tmp_path / "cgn-eth1.pcap")) if IP in p]
    assert outside, "the capture saw the connection"
    assert not [p for p in outside if p[IP].src.startswith("100.64.")], "inside address leaked"

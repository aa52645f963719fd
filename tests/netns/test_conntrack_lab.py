"""Real-kernel conntrack behaviour of the middleboxes (time scale 60: 1 min → 1 s)."""

from __future__ import annotations

import pytest

from natsim.lab import Lab
from natsim.middleboxes.conntrack.policy import Untracked
from natsim.middleboxes.cpe_bridge import CpeBridge
from natsim.middleboxes.presets import device
from natsim.units import TimeScale

from .conftest import connect_once, run_client, start_server

pytestmark = pytest.mark.natsim_netns
SCALE = TimeScale(60)
SERVER = "203.0.113.10"


def test_cpe_bridge_drops_connections_idle_past_one_hour_silently() -> None:
    with Lab("isp-bridge-cgn", {"cpe": CpeBridge()}, time_scale=SCALE) as lab:
        start_server(lab)
        # idle in lab seconds: 59 and 61 min, client speaking first (out) or server first (in)
        verdicts = run_client(lab, SERVER, ["out:59", "out:61", "in:59", "in:61"])
    assert verdicts["out:59"] == "alive"
    assert verdicts["in:59"] == "alive"
    # dead by silence: the OS reports a timeout, never a reset
    assert verdicts["out:61"] == "timeout"
    assert verdicts["in:61"] == "silent"


def test_cpe_bridge_pickup_keeps_idle_connections_working() -> None:
    cpe = CpeBridge(untracked_outbound=Untracked.PICKUP, untracked_inbound=Untracked.PICKUP)
    with Lab("isp-bridge-cgn", {"cpe": cpe}, time_scale=SCALE) as lab:
        start_server(lab)
        verdicts = run_client(lab, SERVER, ["out:61", "in:61"])
    assert verdicts == {"out:61": "alive", "in:61": "alive"}


def test_keepalive_every_30_minutes_keeps_connection_through_cpe() -> None:
    with Lab("isp-bridge-cgn", {"cpe": CpeBridge()}, time_scale=SCALE) as lab:
        start_server(lab)
        verdicts = run_client(lab, SERVER, ["out:61", "in:61"], keepalive=30)
    assert verdicts == {"out:61": "alive", "in:61": "alive"}


def test_cgn_rfc5382_timeout_two_hours_survive_two_hours_ten_die() -> None:
    cpe = CpeBridge(idle_timeout=86400.0)  # out of the way
    with Lab("isp-bridge-cgn", {"cpe": cpe, "cgn": device("cgn")}, time_scale=SCALE) as lab:
        start_server(lab)
        verdicts = run_client(lab, SERVER, ["out:120", "out:130", "in:120", "in:130"])
    assert verdicts == {"out:120": "alive", "out:130": "timeout", "in:120": "alive", "in:130": "silent"}


@pytest.mark.parametrize(("policy", "expected"), [(Untracked.DROP, "silent"), (Untracked.RESET, "refused")])
def test_cgn_unsolicited_inbound_tcp(policy: Untracked, expected: str) -> None:
    with Lab("isp-bridge-cgn", {"cgn": device("cgn", untracked_inbound=policy)}, time_scale=SCALE) as lab:
        verdict = connect_once(lab, "server", "192.0.2.1", 22)
    assert verdict == expected

"""Real-kernel conntrack behaviour of the middleboxes.

Idle times are written in real-world minutes and given to the idle tool in lab seconds at the test's
time scale: 240 (1 min → 250 ms) where every timer is whole lab seconds there (the CPE's 1 h is 15 s,
the CGN's 2 h 4 min 31 s), 120 for the 30 min keepalive (15 s: TCP_KEEPIDLE is whole seconds). The
ladders sit a minute or more from each timeout, 250 ms of lab time or more, against conntrack's expiry
precision of one kernel tick (≤ 4 ms). At 60 they took 1 to 2 min of lab time each."""

from __future__ import annotations

import pytest

from natsim.lab import Lab
from natsim.middleboxes.conntrack.policy import Untracked
from natsim.middleboxes.cpe_bridge import CpeBridge
from natsim.middleboxes.presets import device
from natsim.units import TimeScale

from .conftest import connect_once, run_client, start_server

pytestmark = pytest.mark.natsim_netns
SCALE = TimeScale(240)
KEEPALIVE_SCALE = TimeScale(120)
SERVER = "203.0.113.10"


def run_minutes(lab: Lab, scale: TimeScale, specs: list[str], **kwargs: int) -> dict[str, str]:
    """The idle tool's client with ``direction:minutes`` specs (real-world idle, given to the tool in lab
    seconds at ``scale``); its verdicts keyed by those specs."""
    lab_specs = {spec: f"{spec.split(':')[0]}:{scale.to_lab(float(spec.split(':')[1]) * 60):g}"
                 for spec in specs}
    verdicts = run_client(lab, SERVER, list(lab_specs.values()), **kwargs)
    return {spec: verdicts[lab_specs[spec]] for spec in specs}


def test_cpe_bridge_drops_connections_idle_past_one_hour_silently() -> None:
    with Lab("isp-bridge-cgn", {"cpe": CpeBridge()}, time_scale=SCALE) as lab:
        start_server(lab)
        # idle 59 and 61 min, client speaking first (out) or server first (in)
        verdicts = run_minutes(lab, SCALE, ["out:59", "out:61", "in:59", "in:61"])
    assert verdicts["out:59"] == "alive"
    assert verdicts["in:59"] == "alive"
    # dead by silence: the OS reports a timeout, never a reset
    assert verdicts["out:61"] == "timeout"
    assert verdicts["in:61"] == "silent"


def test_cpe_bridge_pickup_keeps_idle_connections_working() -> None:
    cpe = CpeBridge(untracked_outbound=Untracked.PICKUP, untracked_inbound=Untracked.PICKUP)
    with Lab("isp-bridge-cgn", {"cpe": cpe}, time_scale=SCALE) as lab:
        start_server(lab)
        verdicts = run_minutes(lab, SCALE, ["out:61", "in:61"])
    assert verdicts == {"out:61": "alive", "in:61": "alive"}


def test_keepalive_every_30_minutes_keeps_connection_through_cpe() -> None:
    with Lab("isp-bridge-cgn", {"cpe": CpeBridge()}, time_scale=KEEPALIVE_SCALE) as lab:
        start_server(lab)
        verdicts = run_minutes(lab, KEEPALIVE_SCALE, ["out:61", "in:61"],
                               keepalive=int(KEEPALIVE_SCALE.to_lab(30 * 60.0)))
    assert verdicts == {"out:61": "alive", "in:61": "alive"}


def test_cgn_rfc5382_timeout_two_hours_survive_two_hours_ten_die() -> None:
    cpe = CpeBridge(idle_timeout=86400.0)  # out of the way
    with Lab("isp-bridge-cgn", {"cpe": cpe, "cgn": device("cgn")}, time_scale=SCALE) as lab:
        start_server(lab)
        verdicts = run_minutes(lab, SCALE, ["out:120", "out:130", "in:120", "in:130"])
    assert verdicts == {"out:120": "alive", "out:130": "timeout", "in:120": "alive", "in:130": "silent"}


@pytest.mark.parametrize(("policy", "expected"), [(Untracked.DROP, "silent"), (Untracked.RESET, "refused")])
def test_cgn_unsolicited_inbound_tcp(policy: Untracked, expected: str) -> None:
    with Lab("isp-bridge-cgn", {"cgn": device("cgn", untracked_inbound=policy)}, time_scale=SCALE) as lab:
        verdict = connect_once(lab, "server", "192.0.2.1", 22)
    assert verdict == expected

"""The TCP probes against the lab: the ISP incident and a CGN.

tcp-send and tcp-recv ladders around the CPE's 1 h run at time scale 240 (1 min → 250 ms; their
verdicts stay exact to 600, LADDER_LIMIT; at 60 each took a minute of lab time); tcp-keepalive, whose
TCP_KEEPIDLE is whole seconds, and the ladders around a 10 min CGN (2.5 s at 240) at 60 (1 min → 1 s).

Hypothesis of the incident: the bridge-mode cable modem tracks connections with a 1 h idle timeout
and drops packets of unknown connections arriving from the inside, but picks up ones arriving from
the outside. So a connection idle ≥ 1 h dies when the client speaks first (send-test, keepalive) and
survives when the server speaks first (recv-test). With ``drop`` both ways recv-test fails as well.

Margins come from the kernel: conntrack expiry is precise to a tick, so the ladders sit right at the
boundary (idle 60 min is dead, as the kernel does it). Keepalive timers would fire up to 1/8 late
(timer wheel); the probe re-arms them shortly before the deadline, so keepalive is as sharp.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from natsim.lab import Lab
from natsim.middleboxes.conntrack.policy import Untracked
from natsim.middleboxes.cpe_bridge import CpeBridge
from natsim.middleboxes.nat44 import Nat44
from natsim.middleboxes.presets import device
from natsim.probes.tcp.labrun import start_probe, start_server
from natsim.probes.tcp.options import TcpProbeOptions
from natsim.report.schema import ProbeResult, Verdict

pytestmark = pytest.mark.natsim_netns
SCALE = 60.0
#: tcp-send and tcp-recv around the CPE's 1 h (15 lab s; the long CGN's 4 h 60 s, its 4 min transitory 1 s).
LADDER_SCALE = 240.0
SERVER = "203.0.113.10"
MIN = 60.0
INCIDENT_CPE = CpeBridge(idle_timeout=3600.0, untracked_outbound=Untracked.DROP,
                         untracked_inbound=Untracked.PICKUP)
#: A CGN that is out of the CPE's way (the incident's CGN kept connections longer than 2h10m).
LONG_CGN = device("cgn", idle_timeout=4 * 3600.0)

LabFactory = Callable[..., Lab]


def ladder(first_min: int, count: int, scale: float = SCALE, **kwargs: Any) -> TcpProbeOptions:
    """Idles first_min, first_min+1, ... minutes (send/recv get the lab's 2 min user timeout)."""
    return TcpProbeOptions(server=SERVER, connections=count, step=MIN, first=first_min * MIN,
                           time_scale=scale, grace_wall=5.0, **kwargs)


def by_minute(result: ProbeResult) -> dict[int, Verdict]:
    """Idle minutes → verdict."""
    return {round(c.idle / MIN): c.verdict for c in result.connections}


def incident_lab(natsim_lab: LabFactory, tmp_path: Path, cpe: CpeBridge = INCIDENT_CPE,
                 cgn: Nat44 = LONG_CGN, scale: float = SCALE) -> Lab:
    lab = natsim_lab("isp-bridge-cgn", {"cpe": cpe, "cgn": cgn}, time_scale=scale)
    start_server(lab, log=tmp_path / "server.log")
    return lab


def test_incident_send_dies_from_one_hour(natsim_lab: LabFactory, tmp_path: Path) -> None:
    lab = incident_lab(natsim_lab, tmp_path, scale=LADDER_SCALE)
    probe = start_probe(lab, "client", "tcp-send", ladder(58, 4, LADDER_SCALE), workdir=tmp_path)
    result = probe.wait()
    assert by_minute(result) == {58: Verdict.ALIVE, 59: Verdict.ALIVE, 60: Verdict.DEAD, 61: Verdict.DEAD}
    dead = [c for c in result.connections if c.verdict is Verdict.DEAD]
    assert all(c.how == "read" and "ETIMEDOUT" in c.detail for c in dead)  # silence, not a reset
    assert result.estimate is not None
    assert (result.estimate.lower, result.estimate.upper) == (59 * MIN, 60 * MIN)
    assert "[+] Connection 1 worked" in probe.lines
    assert "[-] Connection 2 is dead (read)" in probe.lines


def test_incident_recv_every_connection_returns(natsim_lab: LabFactory, tmp_path: Path) -> None:
    lab = incident_lab(natsim_lab, tmp_path, scale=LADDER_SCALE)
    result = start_probe(lab, "client", "tcp-recv", ladder(58, 4, LADDER_SCALE), workdir=tmp_path).wait()
    assert by_minute(result) == {58: Verdict.ALIVE, 59: Verdict.ALIVE, 60: Verdict.ALIVE, 61: Verdict.ALIVE}
    assert [c.detail for c in result.connections] == ["3480", "3540", "3600", "3660"]


def test_incident_keepalive_dies_from_one_hour(natsim_lab: LabFactory, tmp_path: Path) -> None:
    lab = incident_lab(natsim_lab, tmp_path)
    result = start_probe(lab, "client", "tcp-keepalive", ladder(56, 6), workdir=tmp_path).wait()
    alive, dead = Verdict.ALIVE, Verdict.DEAD
    assert by_minute(result) == {56: alive, 57: alive, 58: alive, 59: alive, 60: dead, 61: dead}
    assert all("ETIMEDOUT" in c.detail for c in result.connections if c.verdict is dead)
    assert result.estimate is not None
    assert (result.estimate.lower, result.estimate.upper) == (59 * MIN, 60 * MIN)


def test_cpe_dropping_both_ways_fails_recv_from_one_hour(natsim_lab: LabFactory, tmp_path: Path) -> None:
    cpe = CpeBridge(idle_timeout=3600.0, untracked_outbound=Untracked.DROP, untracked_inbound=Untracked.DROP)
    lab = incident_lab(natsim_lab, tmp_path, cpe=cpe, scale=LADDER_SCALE)
    result = start_probe(lab, "client", "tcp-recv", ladder(58, 4, LADDER_SCALE), workdir=tmp_path).wait()
    assert by_minute(result) == {58: Verdict.ALIVE, 59: Verdict.ALIVE, 60: Verdict.DEAD, 61: Verdict.DEAD}


def test_cgn_picking_up_outbound_only_fails_recv_alone(natsim_lab: LabFactory, tmp_path: Path) -> None:
    """Field observation: "some CGN implementations only fail the tcp-recv-test"."""
    cpe = CpeBridge(idle_timeout=86400.0, untracked_outbound=Untracked.PICKUP,
                    untracked_inbound=Untracked.PICKUP)
    cgn = device("cgn", idle_timeout=10 * MIN, untracked_outbound=Untracked.PICKUP,
                 untracked_inbound=Untracked.DROP)
    lab = incident_lab(natsim_lab, tmp_path, cpe=cpe, cgn=cgn)
    send = start_probe(lab, "client", "tcp-send", ladder(8, 4, name="send"), workdir=tmp_path)
    recv = start_probe(lab, "client", "tcp-recv", ladder(8, 4, name="recv"), workdir=tmp_path)
    alive, dead = Verdict.ALIVE, Verdict.DEAD
    assert by_minute(send.wait()) == {8: alive, 9: alive, 10: alive, 11: alive}
    assert by_minute(recv.wait()) == {8: alive, 9: alive, 10: dead, 11: dead}


@pytest.mark.slow
def test_incident_full_ladder_of_all_three_probes(natsim_lab: LabFactory, tmp_path: Path) -> None:
    """The original tools' 130-connection ladders (1..130 min), run in parallel."""
    lab = incident_lab(natsim_lab, tmp_path)
    running = {kind: start_probe(lab, "client", kind, TcpProbeOptions(
        server=SERVER, time_scale=SCALE, grace_wall=5.0, name=kind), workdir=tmp_path)
        for kind in ("tcp-send", "tcp-recv", "tcp-keepalive")}
    results = {kind: probe.wait() for kind, probe in running.items()}
    send, recv, keep = (by_minute(results[k]) for k in ("tcp-send", "tcp-recv", "tcp-keepalive"))
    # the original's report: connections 0..58 worked, 59.. dead
    assert [m for m, v in send.items() if v is Verdict.ALIVE] == list(range(1, 60))
    assert all(send[m] is Verdict.DEAD for m in range(60, 131))
    assert all(v is Verdict.ALIVE for v in recv.values()) and len(recv) == 130
    assert [m for m, v in keep.items() if v is Verdict.ALIVE] == list(range(1, 60))
    assert all(keep[m] is Verdict.DEAD for m in range(60, 131))


def test_cgn_resetting_unknown_outbound_is_reported_as_reset(natsim_lab: LabFactory, tmp_path: Path) -> None:
    """A reset is told apart from silence, and it does not stop the run."""
    cpe = CpeBridge(idle_timeout=86400.0, untracked_outbound=Untracked.PICKUP,
                    untracked_inbound=Untracked.PICKUP)
    cgn = device("cgn", idle_timeout=10 * MIN, untracked_outbound=Untracked.RESET)
    lab = incident_lab(natsim_lab, tmp_path, cpe=cpe, cgn=cgn)
    probe = start_probe(lab, "client", "tcp-send", ladder(9, 3), workdir=tmp_path)
    result = probe.wait()
    assert by_minute(result) == {9: Verdict.ALIVE, 10: Verdict.RESET, 11: Verdict.RESET}
    assert "[-] Connection 1 was reset" in probe.lines

"""Captures of real lab runs with a known cause, analysed end to end (root tier)."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from natsim.analysis import analyze_directory, draw_ladder
from natsim.lab import Lab
from natsim.lab.capture import Capture
from natsim.middleboxes.conntrack.policy import Untracked
from natsim.middleboxes.cpe_bridge import CpeBridge
from natsim.middleboxes.presets import device
from natsim.units import TimeScale
from tests.lab_traffic import events, run_connector, start_listener

pytestmark = pytest.mark.natsim_netns
SERVER = "203.0.113.10"


def _tcpdumps_of(capture: Capture) -> list[int]:
    return [d.proc.pid for d in capture.running.values() if os.path.exists(f"/proc/{d.proc.pid}")]


def test_silent_drop_is_located_at_the_cpe(tmp_path: Path) -> None:
    # cpe-bridge idle 2 min at time scale 60: 2 lab seconds; the client pauses 2.5 s
    with Lab("isp-bridge-cgn", {"cpe": CpeBridge(idle_timeout=120.0)}, time_scale=TimeScale(60)) as lab:
        capture = Capture(lab, tmp_path)
        with capture:
            server = start_listener(lab, "server", 6001, [["recv"], ["send", "pong"], ["wait_dead", 4]])
            client = run_connector(lab, "client", SERVER, 6001, [
                ["send", "ping"], ["recv"], ["user_timeout", 1200], ["sleep", 2.5], ["send", "late"],
                ["wait_dead", 4]])
            events(server)
        assert _tcpdumps_of(capture) == []
    last = {key: value for key, value in client[-1].items() if key != "t"}   # "t": when (tcp_actor)
    assert last == {"step": "wait_dead", "ok": False, "error": "TimeoutError", "errno": 110}
    summary = capture.summary
    assert summary is not None and all(not link.cut for link in summary.links)
    assert (tmp_path / "capture.json").exists()
    [conn] = analyze_directory(tmp_path).connections
    # the handshake was captured on every link: tcpdump listened before traffic started
    assert {s.link for s in conn.connection.segments if s.flags == "S"} == {
        "cpe-eth0", "cpe-eth1", "cgn-eth1", "inet-eth1"}
    drops = conn.drops()
    assert drops and drops[0].by == "client" and drops[0].at == "cpe" and drops[0].link == "cpe-eth0"
    assert conn.counters["initiator"].retransmissions >= 2
    png, svg = draw_ladder(analyze_directory(tmp_path), "c1", tmp_path / "ladder")
    assert png.stat().st_size > 1000 and "lost at cpe" in svg.read_text()


def test_reset_from_the_cgn(tmp_path: Path) -> None:
    middleboxes = {"cpe": CpeBridge(idle_timeout=86400.0),
                   "cgn": device("cgn", idle_timeout=120.0, untracked_inbound=Untracked.RESET)}
    with Lab("isp-bridge-cgn", middleboxes, time_scale=TimeScale(60)) as lab, Capture(lab, tmp_path):
        server = start_listener(lab, "server", 6002, [["recv"], ["send", "pong"], ["sleep", 2.5],
                                                       ["send", "late"], ["wait_dead", 2]])
        run_connector(lab, "client", SERVER, 6002, [["send", "ping"], ["recv"], ["sleep", 3.5], ["close"]])
        server_events = events(server)
    assert server_events[-1]["error"] == "ConnectionResetError"
    [conn] = analyze_directory(tmp_path).connections
    [rst] = conn.of_kind("rst")
    assert (rst.by, rst.link) == ("cgn", "cgn-eth1")
    assert conn.drops()[0].by == "server" and conn.drops()[0].at == "cgn"
    assert conn.outcome.startswith("reset by cgn")


def test_capture_cut_at_the_packet_limit_is_noted(tmp_path: Path) -> None:
    with Lab("isp-bridge-cgn") as lab, Capture(lab, tmp_path, max_packets=6) as capture:
        server = start_listener(lab, "server", 6003, [["recv"], ["send", "pong"], ["wait_dead", 3]])
        run_connector(lab, "client", SERVER, 6003, [["send", "ping"], ["recv"], ["close"]])
        events(server)
    summary = capture.summary
    assert summary is not None
    cut = [link for link in summary.links if link.cut]
    assert cut and all("limit of 6 packets" in link.note for link in cut)
    analysis = analyze_directory(tmp_path)
    assert all(len(link.segments) <= 6 for link in analysis.capture.links)
    assert any(link.cut for link in analysis.capture.links)


def test_packets_a_late_tcpdump_has_not_read_yet_are_kept(tmp_path: Path) -> None:
    """A tcpdump not scheduled since the last packets (a busy machine) still writes them: the capture
    stops each tcpdump only once it has read what its link carried. Here every tcpdump is held
    (SIGSTOP) while a connection runs, let go, and the capture stopped at once."""
    with Lab("isp-bridge-cgn") as lab:
        capture = Capture(lab, tmp_path)
        with capture:
            held = [d.proc.popen.pid for d in capture.running.values()]
            for pid in held:
                os.kill(pid, signal.SIGSTOP)
            try:
                server = start_listener(lab, "server", 6004, [["recv"], ["send", "pong"], ["close"]])
                run_connector(lab, "client", SERVER, 6004, [["send", "ping"], ["recv"], ["close"]])
                events(server)
            finally:
                for pid in held:
                    os.kill(pid, signal.SIGCONT)
    summary = capture.summary
    assert summary is not None
    assert all(link.packets >= 7 for link in summary.links), \
        [(x.point.link, x.packets) for x in summary.links]
    [conn] = [r for r in analyze_directory(tmp_path).connections if r.connection.responder == "server"]
    assert conn.connection.initiator == "client"

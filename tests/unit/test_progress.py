"""Progress counts connections as they finish: the probe tools write it, handles read it, the run's
progress line adds it up."""

from __future__ import annotations

import io
import socket
import subprocess
import sys
from pathlib import Path

from natsim.probes.tally import Tally, TallyWriter, read_tally
from natsim.probes.tcp.labrun import RunningProbe, probe_argv, progress_path
from natsim.probes.tcp.options import TcpProbeOptions
from natsim.probes.udp.labrun import probe_argv as udp_probe_argv
from natsim.probes.udp.options import UdpProbeOptions
from natsim.report.schema import ConnectionResult, Verdict
from natsim.run.progress import Progress, connections_text
from natsim.units import TimeScale
from tests.unit.netutil import stop, wait_accepting

SCALE = 600.0


def test_tally_file_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "p"
    assert read_tally(path, 130) == Tally(0, 130)        # before the probe's first verdict
    writer = TallyWriter(path, 130)
    assert read_tally(path, None) == Tally(0, 130)
    writer.record(ConnectionResult(0, 60.0, Verdict.ALIVE))
    writer.record(ConnectionResult(1, 120.0, Verdict.DEAD))
    assert read_tally(path, 130) == Tally(2, 130)
    TallyWriter(path, None).record(ConnectionResult(0, 0.0, Verdict.OK))
    assert read_tally(path, 5) == Tally(1, None)         # a search: total not known ahead


def test_the_run_line_counts_connections_not_probes() -> None:
    tallies = [Tally(35, 130), Tally(130, 130), Tally(0, 130)]
    progress = Progress("isp-modem-bridge-1h", TimeScale(60), 3, lambda: tallies, io.StringIO())
    progress.done = 1
    assert progress.line().endswith("connections tested 165/390, probes done 1/3")
    assert connections_text([Tally(3, 3), Tally(4, None)]) == "connections tested 7/≥7"
    assert connections_text([]) == "connections tested 0/0"


def test_a_lab_probe_is_given_its_progress_file_and_its_handle_reads_it(tmp_path: Path) -> None:
    options = TcpProbeOptions(server="203.0.113.10", connections=130, time_scale=60)
    json_path = tmp_path / "client-send-send.json"
    argv = probe_argv("tcp-send", options, json_path)
    assert f"--progress={progress_path(json_path)}" in argv
    assert argv[1:4] == ["-m", "natsim.probes", "tcp-send"]   # by its kind: no other kind is loaded
    running = RunningProbe("tcp-send", "client", None, json_path, tmp_path / "log",  # type: ignore[arg-type]
                           options, 60.0)
    assert running.progress() == Tally(0, 130)
    TallyWriter(progress_path(json_path), 130).record(ConnectionResult(0, 60.0, Verdict.ALIVE))
    assert running.progress() == Tally(1, 130)


def test_a_udp_lab_probe_is_given_its_progress_file_too(tmp_path: Path) -> None:
    options = UdpProbeOptions(server="203.0.113.10", port=16180, connections=7, time_scale=60)
    json_path = tmp_path / "client-udp-send-send.json"
    assert f"--progress={progress_path(json_path)}" in udp_probe_argv("udp-send", options, json_path)


def test_the_probe_tool_reports_each_connection_as_it_finishes(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        echo = s.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "natsim.probes", "serve", "--bind", "127.0.0.1",
                               "--echo-port", str(echo), "--sleep-port", "0", "--udp-port", "0", "--quiet"])
    tally = tmp_path / "send.progress"
    try:
        wait_accepting(echo)
        client = subprocess.Popen([sys.executable, "-m", "natsim.probes", "send", "--server", "127.0.0.1",
                                   "--port", str(echo), "--connections", "4", "--first", "1m",
                                   "--step", "1h", "--time-scale", str(SCALE), "--progress", str(tally)],
                                  stdout=subprocess.PIPE, text=True)
        assert client.stdout is not None
        for line in client.stdout:  # connection 0 is tested after 0.1 s, connection 1 after 6.1 s
            if "Connection 0 worked" in line:
                break
        assert read_tally(tally, None) == Tally(1, 4)   # while connections 1-3 still wait
        client.terminate()
        client.wait(timeout=10)
    finally:
        stop(server)

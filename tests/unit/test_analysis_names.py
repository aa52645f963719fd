"""``natsim analyze`` as a user reads it: a summary first, connections named after the probe
connections they are, real-world times that do not scale the retransmission timer, and one line for a
wrong --ladder id or an unwritable --out."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from natsim.analysis import analyze_directory, render_text
from natsim.cli import main
from natsim.report.schema import ConnectionResult, ProbeResult, RunResult, Verdict

PCAPS = Path(__file__).parents[1] / "golden" / "pcaps"


def run_dir(tmp_path: Path, case: str, probes: list[ProbeResult]) -> Path:
    """A `natsim run` output directory: the capture in pcap/, result.json beside it."""
    shutil.copytree(PCAPS / case, tmp_path / "run" / "pcap")
    RunResult("lab", 60, "mine", probes=probes).save(tmp_path / "run" / "result.json")
    return tmp_path / "run"


def silent_drop_probe(local: str = "100.64.1.10:45390") -> ProbeResult:
    rows = [ConnectionResult(i, 60.0 * (i + 1), Verdict.ALIVE, local=f"100.64.1.10:{40000 + i}")
            for i in range(3)] + [ConnectionResult(3, 240.0, Verdict.DEAD, local=local)]
    return ProbeResult("send", "tcp-send", "203.0.113.10:5001", node="client", connections=rows)


def test_a_connection_is_named_by_its_probe_and_index(tmp_path: Path) -> None:
    analysis = analyze_directory(run_dir(tmp_path, "cpe-silent-drop", [silent_drop_probe()]))
    [report] = analysis.connections
    assert analysis.names == {"c1": "send #3"}
    assert analysis.name(report) == "send #3 (c1)"
    assert analysis.connection("send#3") is report and analysis.connection("send #3") is report
    assert analysis.connection("c1") is report and analysis.connection("1") is report
    text = render_text(analysis)
    assert "\nsend #3 (c1)  client → server" in text
    assert "summary: 1 TCP connection (send 1)" in text


def test_a_capture_without_its_result_keeps_capture_ids(tmp_path: Path) -> None:
    analysis = analyze_directory(run_dir(tmp_path, "cpe-silent-drop", [silent_drop_probe("1.2.3.4:5")]))
    assert analysis.names == {}   # the probe's connection used another port: not this one
    assert analyze_directory(PCAPS / "cpe-silent-drop").names == {}


def test_connections_without_an_address_are_named_by_order_when_one_follows_another(tmp_path: Path) -> None:
    """OpenSSH's ssh does not tell its port: one attempt, one captured connection from its node."""
    probe = ProbeResult("first", "ssh-first-connect", "203.0.113.130:22", node="client1",
                        connections=[ConnectionResult(0, 0.0, Verdict.OK)])
    analysis = analyze_directory(run_dir(tmp_path, "pan-proxy-kex", [probe]))
    assert analysis.names == {"c1": "first #0"}   # the firewall's own leg to sshd is no probe's
    two = ProbeResult("first", "ssh-first-connect", "203.0.113.130:22", node="client1",
                      connections=[ConnectionResult(i, 0.0, Verdict.OK) for i in range(2)])
    assert analyze_directory(run_dir(tmp_path / "b", "pan-proxy-kex", [two])).names == {"c1": "first #?"}


def test_the_summary_comes_first() -> None:
    lines = render_text(analyze_directory(PCAPS / "cpe-silent-drop")).splitlines()
    start = lines.index("summary: 1 TCP connection")
    assert lines[start + 1:start + 4] == ["  ended: 1 closed (FIN) by server",
                                          "  lost packets: 7 at cpe (1 connection)",
                                          "  first loss after an idle of 2m30s (c1, lost at cpe)"]
    assert start < next(i for i, line in enumerate(lines) if line.startswith("c1 "))


def test_real_time_does_not_scale_the_retransmission_timer() -> None:
    """The 208 ms retransmission after the 2.5 s (2m30s real) idle is 208 ms in the real world too,
    not 12 s."""
    analysis = analyze_directory(PCAPS / "cpe-silent-drop")
    [retrans, *_] = analysis.connections[0].of_kind("retransmission")
    assert retrans.real(60) == pytest.approx(150.257, abs=0.001)
    text = render_text(analysis)
    assert "2m30s+208ms  retransmission" in text
    assert "2m42s" not in text   # 2.709 lab s x 60
    assert "TCP's retransmission timer" in text.splitlines()[-1]


def test_a_wrong_ladder_id_is_one_line_with_the_closest(tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    directory = run_dir(tmp_path, "cpe-silent-drop", [silent_drop_probe()])
    assert main(["analyze", str(directory), "--ladder", "send#33"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "no connection 'send#33'" in err and "closest: send#3" in err
    assert not list(directory.glob("ladder-*"))


def test_the_ladder_of_a_probe_connection(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    directory = run_dir(tmp_path, "cpe-silent-drop", [silent_drop_probe()])
    assert main(["analyze", str(directory), "--ladder", "send#3"]) == 0
    assert (directory / "ladder-c1.png").exists() and (directory / "ladder-c1.svg").exists()


def test_an_unwritable_ladder_out_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "file").write_text("")
    assert main(["analyze", str(PCAPS / "cpe-silent-drop"), "--ladder", "c1",
                 "--out", str(tmp_path / "file" / "ladder")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("natsim: error: ") and "file" in err and err.count("\n") == 1, err


def test_the_tcp_probes_record_each_connections_own_address() -> None:
    import asyncio

    from natsim.probes.tcp.send import run_send
    from tests.unit.test_probes_clients import options, probe_server

    async def body() -> ProbeResult:
        async with probe_server() as (echo, _):
            return await run_send(options(echo))
    result = asyncio.run(body())
    locals_ = [c.local for c in result.connections]
    assert all(local.startswith("127.0.0.1:") for local in locals_)
    assert len(set(locals_)) == len(locals_)

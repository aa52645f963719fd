"""``natsim probe nat-type`` on bad input: a server that never answers, one that answers garbage, an
address that does not parse or resolve. One clear line and exit 2, or a verdict; no traceback, no
socket left open."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from natsim.cli import main
from tests.unit.netutil import stop


@contextmanager
def udp_peer(answer: Callable[[bytes], bytes | None]) -> Iterator[int]:
    """A UDP socket on 127.0.0.1 that answers every datagram with ``answer(datagram)`` (None: not)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.1)
    done = threading.Event()

    def serve() -> None:
        while not done.is_set():
            try:
                data, addr = sock.recvfrom(2048)
            except TimeoutError:
                continue
            reply = answer(data)
            if reply is not None:
                sock.sendto(reply, addr)
    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield int(sock.getsockname()[1])
    finally:
        done.set()
        thread.join(timeout=5)
        sock.close()


def run_json(port: int, capsys: pytest.CaptureFixture[str], *more: str) -> tuple[int, dict, str]:  # type: ignore[type-arg]
    code = main(["probe", "nat-type", "--stun", f"127.0.0.1:{port}", "--timeout", "0.3", "--json", *more])
    captured = capsys.readouterr()
    return code, json.loads(captured.out), captured.err


def test_a_server_that_never_answers_is_the_verdict_dead(capsys: pytest.CaptureFixture[str]) -> None:
    with udp_peer(lambda data: None) as port:
        code, result, err = run_json(port, capsys)
    probe = result["probes"][0]
    assert code == 0 and probe["kind"] == "nat-type"
    assert [(c["how"], c["verdict"]) for c in probe["connections"]] == [("binding", "dead")]
    assert "no answer" in probe["connections"][0]["detail"]
    assert probe["extra"]["classic"] == "unknown" and "Traceback" not in err
    assert "mapping: unknown" in err.splitlines()


def test_a_server_that_answers_garbage_is_the_verdict_error(capsys: pytest.CaptureFixture[str]) -> None:
    with udp_peer(lambda data: b"SSH-2.0-OpenSSH_9.2\r\n") as port:
        code, result, _ = run_json(port, capsys)
    connection = result["probes"][0]["connections"][0]
    assert code == 0 and connection["verdict"] == "error"
    assert "no STUN message" in connection["detail"] and "5353482d" in connection["detail"]


def test_an_echo_service_is_not_a_stun_server(capsys: pytest.CaptureFixture[str]) -> None:
    """A UDP echo returns the request itself: an error, not a hairpin or a response."""
    with udp_peer(lambda data: data) as port:
        code, result, _ = run_json(port, capsys)
    probe = result["probes"][0]
    assert code == 0 and [c["verdict"] for c in probe["connections"]] == ["error"]
    assert "echo" in probe["extra"]["skipped"]["mapping"]


@pytest.mark.parametrize("target", ["127.0.0.1:99999", ":3478", "127.0.0.1:x", "127.0.0.1:0"])
def test_a_target_that_does_not_parse_is_one_line_and_exit_2(target: str, tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "r.json"
    assert main(["probe", "nat-type", "--stun", target, "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("natsim: error: --stun") and not out.exists()


def test_a_host_that_does_not_resolve_is_one_line_and_exit_2(monkeypatch: pytest.MonkeyPatch,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    def fail(*args: object, **kwargs: object) -> None:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    monkeypatch.setattr(socket, "getaddrinfo", fail)   # no DNS query leaves the machine
    assert main(["probe", "nat-type", "--stun", "stun.example.invalid"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["natsim: error: --stun stun.example.invalid: cannot resolve it to an IPv4 address: "
                   "[Errno -2] Name or service not known"]


@pytest.mark.parametrize(("flags", "message"), [
    (["--test", "nat"], "'nat' is not one of mapping, filtering, hairpinning"),
    (["--lifetime-max", "1h", "--lifetime-step", "10s"], "at most 60"),
    (["--lifetime-max", "1m", "--lifetime-min", "2m"], "is above lifetime_max"),
    (["--timeout", "0"], "--timeout must be positive"),
])
def test_bad_options_are_one_line_and_exit_2(flags: list[str], message: str,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["probe", "nat-type", "--stun", "127.0.0.1", *flags]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]


def test_serve_stun_runs_beside_the_tcp_services(tmp_path: Path) -> None:
    """``natsim serve --stun`` with one address: the echo service works, and the STUN server answers
    Binding requests without RFC 5780 (no OTHER-ADDRESS: the behaviour tests say why they did not run)."""
    server = subprocess.Popen([sys.executable, "-m", "natsim.cli", "-v", "serve", "--stun", "--bind",
                               "127.0.0.1", "--echo-port", "0", "--sleep-port", "0", "--udp-port", "0",
                               "--stun-port", "0"],
                              stderr=subprocess.PIPE, text=True)
    try:
        assert server.stderr is not None
        lines = [server.stderr.readline() for _ in range(3)]   # the UDP service's line too
        stun, echo = (next(ln for ln in lines if f"listening: {what}" in ln) for what in ("stun", "echo"))
        with socket.create_connection(("127.0.0.1", int(echo.split("127.0.0.1:")[1].split(",")[0])),
                                      timeout=5) as tcp:
            tcp.sendall(b"A")
            assert tcp.recv(1) == b"A"
        out = tmp_path / "nat.json"
        port = stun.split("127.0.0.1:")[1].strip()
        assert main(["probe", "nat-type", "--stun", f"127.0.0.1:{port}", "--timeout", "0.5",
                     "--out", str(out)]) == 0
    finally:
        stop(server)
        if server.stderr is not None:
            server.stderr.close()
    extra = json.loads(out.read_text())["probes"][0]["extra"]
    assert extra["other_address"] is None and extra["mapped"] == extra["local"]
    assert extra["mapping"] == "endpoint-independent" and extra["nat"] is False   # test I tells that much
    assert list(extra["skipped"]) == ["filtering"] and "no OTHER-ADDRESS" in extra["skipped"]["filtering"]


CODEC_LOADED = "print(sorted(m for m in sys.modules if m.split('.')[0] in ('aioice', 'dns')))"
TCP_ONLY = """
import asyncio, sys
from natsim.probes.serve import serve
from natsim.probes.tcp.server import ServerConfig

async def main():
    task = asyncio.ensure_future(serve(ServerConfig(bind="127.0.0.1", echo_port=0, sleep_port=0)))
    await asyncio.sleep(0.5)
    assert not task.done(), task
    task.cancel()

asyncio.run(main())
"""


def test_the_codec_is_imported_only_when_stun_runs() -> None:
    """aioice (and the dnspython it brings, ~0.3 s) stays out of every ``natsim`` start-up, and out of
    ``natsim serve`` without ``--stun``."""
    for code in ("import sys, natsim.cli as c; c.build_parser()", TCP_ONLY):
        done = subprocess.run([sys.executable, "-c", f"{code}\n{CODEC_LOADED}"], capture_output=True,
                              text=True, timeout=60, check=False)
        assert (done.returncode, done.stdout.strip()) == (0, "[]"), done.stderr


def test_the_tool_counts_its_exchanges_in_its_progress_file(tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    """``--progress``: one more per exchange with a verdict (the total is not known ahead); the lab
    handle reads the same file."""
    from natsim.probes.stun.labrun import RunningNatType, probe_argv, progress_path
    from natsim.probes.stun.options import NatTypeOptions
    from natsim.probes.tally import Tally

    json_path = tmp_path / "client-nat-type-probe.json"
    argv = probe_argv(NatTypeOptions(), server="203.0.113.10:3478", time_scale=60, json_path=json_path,
                      name=None, node="client")
    assert f"--progress={progress_path(json_path)}" in argv
    running = RunningNatType("nat-type", "client", None, json_path, tmp_path / "log", 10.0)  # type: ignore[arg-type]
    assert running.progress() == Tally(0, None)
    with udp_peer(lambda data: None) as port:
        code, result, _ = run_json(port, capsys, f"--progress={progress_path(json_path)}")
    assert code == 0 and len(result["probes"][0]["connections"]) == 1
    assert running.progress() == Tally(1, None)


def test_a_closed_port_is_refused_at_once_not_silence(capsys: pytest.CaptureFixture[str]) -> None:
    """Nothing listens: the ICMP port unreachable (IP_RECVERR) ends the exchange at once and says so,
    rather than waiting out --timeout and calling it silence."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as closed:
        closed.bind(("127.0.0.1", 0))
        port = int(closed.getsockname()[1])
    started = time.monotonic()
    code = main(["probe", "nat-type", "--stun", f"127.0.0.1:{port}", "--timeout", "8", "--json"])
    took = time.monotonic() - started
    probe = json.loads(capsys.readouterr().out)["probes"][0]
    assert code == 0 and took < 4, took
    assert [(c["how"], c["verdict"]) for c in probe["connections"]] == [("binding", "dead")]
    assert "refused (ICMP port unreachable)" in probe["connections"][0]["detail"]
    assert "refused" in probe["extra"]["skipped"]["mapping"]

"""``natsim run`` end to end: shipped scenarios (short variants), failing expectations, Ctrl-C, plugin."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from natsim.lab.records import all_records
from natsim.scenario import shipped_scenarios
from tests.shared_runs import compared_run

pytestmark = [pytest.mark.natsim_netns, pytest.mark.e2e]
SHORT = Path(__file__).with_name("short")
NATSIM = [sys.executable, "-m", "natsim.cli"]
TCP_SHORT = ["isp-modem-bridge-1h", "isp-modem-fixed-7440", "cgn-loose-pickup"]
SSH_SHORT = ["pan-ssh-proxy-go-backend", "pan-ssh-proxy-sshd-backend", "ssh-idle-serveralive"]
UDP_SHORT = ["cloud-nat-udp", "wireguard-cgn-udp-30s"]
#: Shipped field-bug scenarios: short as they are, run with the model in tests/netns/test_sim_agreement.py.
FIELD = ["k8s-ipvs-900s", "aws-nlb-350s", "azure-nat-4min", "azure-lb-tcp-reset", "gcp-firewall-10min"]
#: Shipped scenarios short as they are, run whole in the lab and compared with the model exchange by
#: exchange by their own lab test (nat-type-matrix: tests/netns/test_stun_lab.py, about 30 s;
#: p2p-hole-punch: tests/netns/test_hole_punch_lab.py, about 15 s).
OWN_LAB_TEST = ["nat-type-matrix", "p2p-hole-punch"]


def natsim_run(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*NATSIM, "run", *args], capture_output=True, text=True, timeout=timeout,
                          check=False)


# The short TCP and UDP scenarios' `natsim run --compare` is run once per session (tests/shared_runs.py):
# tests/netns/test_sim_agreement.py compares the same run's lab result with the model, exchange by exchange.
@pytest.mark.parametrize("name", TCP_SHORT)
def test_short_tcp_scenario_passes_and_agrees_with_the_model(
        name: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    done, out = compared_run(tmp_path_factory, SHORT / f"{name}.yaml")
    assert_passed(done, out)
    assert "<-- DISAGREE" not in done.stdout
    assert sorted(p.name for p in (out / "pcap").glob("*.pcap"))


def test_every_shipped_scenario_has_a_short_form_run_with_compare() -> None:
    """Lab and model agree on every shipped scenario: each has a short form the tests above run."""
    assert sorted(shipped_scenarios()) == sorted(TCP_SHORT + SSH_SHORT + UDP_SHORT + FIELD + OWN_LAB_TEST)
    for name in TCP_SHORT + SSH_SHORT + UDP_SHORT:
        assert (SHORT / f"{name}.yaml").exists(), name


@pytest.mark.parametrize("name", SSH_SHORT)
def test_short_ssh_scenario_passes_and_agrees_with_the_model(name: str, tmp_path: Path) -> None:
    done = natsim_run(str(SHORT / f"{name}.yaml"), "--out", str(tmp_path), "--compare")
    assert_passed(done, tmp_path)
    assert "<-- DISAGREE" not in done.stdout
    assert " connections agree" in done.stdout


@pytest.mark.parametrize("name", UDP_SHORT)
def test_short_udp_scenario_passes_and_agrees_with_the_model(
        name: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    done, out = compared_run(tmp_path_factory, SHORT / f"{name}.yaml")
    assert_passed(done, out)
    assert "<-- DISAGREE" not in done.stdout
    assert " connections agree" in done.stdout


def assert_passed(done: subprocess.CompletedProcess[str], tmp_path: Path) -> None:
    """Exit 0 and every output written."""
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads((tmp_path / "result.json").read_text())
    assert result["source"] == "lab" and result["complete"]
    assert (tmp_path / "survival.png").stat().st_size > 1000
    assert "expectations hold" in (tmp_path / "summary.txt").read_text()


def test_failing_expectation_exits_1_with_the_reason(tmp_path: Path) -> None:
    scenario = tmp_path / "wrong.yaml"
    scenario.write_text((SHORT / "home-nat-command.yaml").read_text().replace("exit_code: 0", "exit_code: 3"))
    done = natsim_run(str(scenario), "--out", str(tmp_path / "out"), "--trust")  # its command probe
    assert done.returncode == 1, done.stdout + done.stderr
    assert "reach.exit_code: expected 3, observed 0 — FAILED" in done.stdout


def test_probe_cmd_runs_the_users_tool_and_checks_its_exit_code(tmp_path: Path) -> None:
    done = natsim_run(str(SHORT / "home-nat-command.yaml"), "--out", str(tmp_path), "--trust",
                      "--probe-cmd", "client", "ping -c 1 -W 1 198.51.100.99")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "probe-cmd-1.exit_code: expected 0, observed 1 — FAILED" in done.stdout
    assert "PING 198.51.100.99" in (tmp_path / "probe-cmd-1.out").read_text()


def test_invalid_scenario_creates_nothing(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("topology: home-nat\nprobes:\n  - kind: tcp-send\n    options: {connections: many}\n")
    run_dir = tmp_path / "run"  # a private lab registry: any lab brought up would create run/labs
    done = subprocess.run([*NATSIM, "run", str(bad)], capture_output=True, text=True, timeout=60, check=False,
                          env={**os.environ, "NATSIM_RUN_DIR": str(run_dir)})
    assert done.returncode == 2
    assert f"{bad}:4:28: probes.0.options.connections: expected a whole number" in done.stderr
    assert not (run_dir / "labs").exists()


def test_ctrl_c_stops_cleanly_and_keeps_a_partial_result(tmp_path: Path) -> None:
    proc = subprocess.Popen([*NATSIM, "run", str(SHORT / "isp-modem-bridge-1h.yaml"), "--out", str(tmp_path)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.monotonic() + 30
    while not list(tmp_path.glob("client-*.log")) and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(2)
    os.kill(proc.pid, signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, out + err
    result = json.loads((tmp_path / "result.json").read_text())
    assert result["complete"] is False
    assert {p["name"] for p in result["probes"]} == {"send", "send-default", "recv", "keepalive"}
    send = next(p for p in result["probes"] if p["name"] == "send")
    assert send["complete"] is False
    assert len(send["connections"]) == 4  # what was measured so far, the rest marked skipped
    assert {c["verdict"] for c in send["connections"]} == {"skipped"}
    assert not [r for r in all_records() if r.owner_pid == proc.pid]


def test_pytest_plugin_from_a_test_outside_the_package(tmp_path: Path) -> None:
    """A third-party suite: both fixtures, scenario-unit settings, and a tool found on the caller's PATH."""
    test = tmp_path / "test_mine.py"
    scenario = SHORT / "home-nat-command.yaml"
    tools = tmp_path / "venv-bin"  # stands for the user's venv: on PATH for pytest, not in the system
    tools.mkdir()
    (tools / "my-natsim-probe").write_text(
        '#!/bin/sh\necho "my probe ran, scale $NATSIM_TIME_SCALE"\nping -c1 -W2 "$1"\n')
    (tools / "my-natsim-probe").chmod(0o755)
    test.write_text(textwrap.dedent(f"""
        import pytest

        @pytest.mark.natsim_netns
        def test_my_probe(natsim_scenario):
            outcome = natsim_scenario({str(scenario)!r}, probe_cmds={{"mine": ("client", "true")}})
            assert outcome.ok
            assert outcome.result.probe("mine").extra["exit_code"] == 0

        @pytest.mark.natsim_netns
        def test_my_tool_on_my_path(natsim_scenario):
            outcome = natsim_scenario({str(scenario)!r}, time_scale=30,
                                      probe_cmds={{"mine": ("client", "my-natsim-probe server")}})
            output = open(outcome.result.probe("mine").extra["output"]).read()
            assert outcome.ok, output
            assert "my probe ran, scale 30" in output and "1 received" in output

        @pytest.mark.natsim_netns
        def test_lab(natsim_lab):
            lab = natsim_lab("home-nat")
            assert lab.run("client", "ping -c1 -W2 198.51.100.10")[0] == 0

        @pytest.mark.natsim_netns
        def test_lab_in_scenario_units(natsim_lab):
            lab = natsim_lab("isp-bridge-cgn", {{"cpe": {{"idle_timeout": "30m"}}}}, time_scale=60)
            assert lab.middleboxes["cpe"].idle_timeout == 1800
            code, ruleset = lab.run("cpe", "nft list ruleset")
            assert code == 0 and "established : 30," in ruleset, ruleset  # 30 min / 60

        INLINE = (
            "topology: home-nat\\ntime_scale: 60\\ncaptures: false\\n"
            "probes: [{{name: send, kind: tcp-send, options: {{connections: 2, step: 1m}}}}]\\n"
            "expect: {{send: {{all_alive: true}}}}\\n")

        @pytest.mark.natsim_netns
        def test_inline_scenario(natsim_scenario):
            outcome = natsim_scenario(text=INLINE)
            assert outcome.ok, outcome.summary
    """))
    env = {**os.environ, "PATH": f"{tools}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--strict-markers",
                           "--natsim-strict", str(test)],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "5 passed" in done.stdout


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(set(shipped_scenarios()) - set(FIELD) - set(OWN_LAB_TEST)))
def test_full_shipped_scenario(name: str, tmp_path: Path) -> None:
    done = natsim_run(name, "--out", str(tmp_path), timeout=1800)
    assert done.returncode == 0, done.stdout + done.stderr

"""Every command that loads a topology accepts a user's ``FILE.py[:NAME]`` with ``--trust`` and
refuses it without (exit 2, naming the file, before anything runs).
The lab side: tests/netns/test_user_topology.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from natsim.cli import main
from tests.user_topology import NAME, write_scenario, write_topology


def _argv(command: str, topo: Path, scenario: Path, out: Path) -> list[str]:
    return {"run": ["run", str(scenario), "--out", str(out)],
            "lab": ["lab", str(topo), "--run", "client true"],
            "predict": ["predict", str(scenario)],
            "sweep": ["sweep", str(scenario), "--param", "router.idle_timeout=1h,2h", "--out", str(out)],
            "conform": ["conform", f"{topo}:{NAME}:router", "--only", "rfc5382-req1"],
            "classify": ["classify", "true", "--scenario", str(scenario)]}[command]


@pytest.mark.parametrize("command", ["run", "lab", "predict", "sweep", "conform", "classify"])
def test_users_topology_file_is_refused_without_trust(command: str, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    topo, marker = write_topology(tmp_path / "mine")
    scenario = write_scenario(tmp_path / "s.yaml", f"mine/{topo.name}:{NAME}")
    assert main(_argv(command, topo, scenario, tmp_path / "out")) == 2
    err = capsys.readouterr().err
    assert err.startswith("natsim: error: ")
    assert f"  - topology 'my-nat' from {topo}: a Python file natsim executes to load it" in err
    assert err.rstrip().endswith("pass --trust (from Python: trust=True).")
    assert not marker.exists() and not (tmp_path / "out").exists()


def test_predict_and_sweep_run_a_trusted_topology_file(tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    topo, marker = write_topology(tmp_path / "mine")
    scenario = write_scenario(tmp_path / "s.yaml", f"mine/{topo.name}")
    assert main(["predict", str(scenario), "--trust"]) == 0
    assert "send (tcp-send -> server:31415): 2 alive" in capsys.readouterr().out
    assert marker.exists()
    out = tmp_path / "sweep"
    assert main(["sweep", str(scenario), "--param", "router.idle_timeout=5m,1h", "--workers", "2",
                 "--out", str(out), "--trust"]) == 0
    assert "2 points x 1 probes" in capsys.readouterr().out
    assert (out / "sweep.csv").read_text().count("\n") == 1 + 2


def test_predict_runs_no_command_so_needs_no_trust_for_one(capsys: pytest.CaptureFixture[str]) -> None:
    scenario = Path(__file__).parents[1] / "e2e" / "short" / "home-nat-command.yaml"
    assert main(["predict", str(scenario)]) == 0
    assert main(["run", str(scenario)]) == 2
    assert "probe 'reach' (command) runs as root, inside lab node client: sh -c 'ping -c 1 -W 2 server'" \
        in capsys.readouterr().err


def test_a_lab_sweep_runs_commands_so_needs_trust_for_one(tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    scenario = Path(__file__).parents[1] / "e2e" / "short" / "home-nat-command.yaml"
    argv = ["sweep", str(scenario), "--param", "router.idle_timeout=1h", "--out", str(tmp_path / "out")]
    assert main([*argv, "--lab"]) == 2
    assert "probe 'reach' (command) runs as root, inside lab node client" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
    assert main([*argv, "--lab", "--lab-timers", "--trust"]) == 2
    assert "give one" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["run", "lab", "predict", "sweep", "conform", "classify"])
def test_trust_is_documented_in_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main([command, "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert ("--trust allow this scenario/topology to run its own code: what its probes' options say to run "
            "(command lines, ssh options) runs as root in lab nodes, topology files are Python") in text

"""A plugin end to end: ``examples/natsim-plugin-idle-firewall`` installed, found, run: its middlebox
kind through ``natsim predict`` and ``natsim run``, its probe kind through ``natsim probe``.

The example is installed with pip (``--target``, no network, no build isolation) into a directory
of this test's own, not into natsim's venv, so no other test sees it; natsim runs with that directory
on ``PYTHONPATH``, where ``importlib.metadata`` finds the plugin's entry point like any installed one.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e
EXAMPLE = Path(__file__).parents[2] / "examples" / "natsim-plugin-idle-firewall"
SCENARIO = Path("scenarios") / "idle-firewall.yaml"
EXPECTED = {"send": ["alive", "alive", "reset", "reset"], "recv": ["alive", "alive", "dead", "dead"]}


@pytest.fixture(scope="module")
def plugin(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """(a copy of the example, the environment in which it is installed)."""
    root = tmp_path_factory.mktemp("plugin")
    source = root / "source"  # pip builds in the source tree: build it from a copy
    shutil.copytree(EXAMPLE, source, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    site = root / "site"
    done = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-index", "--no-deps",
                           "--no-build-isolation", "--no-cache-dir", "--target", str(site), str(source)],
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, ("pip could not build the example offline (natsim's venv needs "
                                  "setuptools >= 70.1 or `wheel`):\n" + done.stdout + done.stderr)
    return source, {**os.environ, "PYTHONPATH": str(site)}


def natsim(args: Sequence[str], env: dict[str, str], cwd: Path,
           timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "natsim.cli", *args], capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=timeout, check=False)


def verdicts(result: dict[str, object]) -> dict[str, list[str]]:
    probes = result["probes"]
    assert isinstance(probes, list)
    return {p["name"]: [c["verdict"] for c in p["connections"]] for p in probes}


#: prints kind name -> the module of its config class
KINDS = "from natsim.middleboxes import kinds; print({n: k.config.__module__ for n, k in kinds().items()})"


def test_the_entry_point_registers_the_kind_only_where_installed(plugin: tuple[Path, dict[str, str]]) -> None:
    source, env = plugin
    installed = subprocess.run([sys.executable, "-c", KINDS],
                               capture_output=True, text=True, env=env, check=True).stdout
    assert "'idle-firewall': 'natsim_idle_firewall.config'" in installed
    clean = {k: v for k, v in env.items() if k != "PYTHONPATH"}
    plain = subprocess.run([sys.executable, "-c", KINDS],
                           capture_output=True, text=True, env=clean, check=True).stdout
    assert "'nat'" in plain and "idle-firewall" not in plain
    refused = natsim(["predict", str(SCENARIO), "--trust"], clean, source)
    assert refused.returncode == 2 and "unknown middlebox kind 'idle-firewall'" in refused.stderr


def test_predict_needs_trust_and_predicts_the_ladders(plugin: tuple[Path, dict[str, str]]) -> None:
    source, env = plugin
    untrusted = natsim(["predict", str(SCENARIO)], env, source)
    assert untrusted.returncode == 2 and "only with --trust" in untrusted.stderr
    assert "office_firewall.py" in untrusted.stderr
    done = natsim(["predict", str(SCENARIO), "--trust", "--json"], env, source)
    assert done.returncode == 0, done.stdout + done.stderr
    assert verdicts(json.loads(done.stdout)) == EXPECTED


@pytest.mark.natsim_netns
def test_the_plugins_own_tests_pass(plugin: tuple[Path, dict[str, str]]) -> None:
    source, env = plugin
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=source,
                          env=env, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert " passed" in done.stdout and "skipped" not in done.stdout  # the lab test ran too


@pytest.mark.natsim_netns
def test_run_compare_lab_and_model_agree(plugin: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    source, env = plugin
    done = natsim(["run", str(SCENARIO), "--trust", "--compare", "--out", str(tmp_path)], env, source)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "4 of 4 expectations hold" in done.stdout
    assert "8 of 8 connections agree" in done.stdout and "DISAGREE" not in done.stdout
    result = json.loads((tmp_path / "result.json").read_text())
    assert result["source"] == "lab" and result["complete"]
    assert verdicts(result) == EXPECTED


def test_the_plugins_probe_kind_is_a_natsim_probe_subcommand(plugin: tuple[Path, dict[str, str]]) -> None:
    source, env = plugin
    listed = natsim(["probe", "--help"], env, source)
    assert listed.returncode == 0 and "tcp-open" in listed.stdout, listed.stderr
    with socket.socket() as listening, socket.socket() as closed:
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        closed.bind(("127.0.0.1", 0))   # bound, not listening: the kernel answers with RST
        ports = f"{listening.getsockname()[1]},{closed.getsockname()[1]}"
        done = natsim(["probe", "tcp-open", "--target", "127.0.0.1", "--ports", ports, "--json"], env, source)
        in_node = subprocess.run([sys.executable, "-m", "natsim.probes", "tcp-open", "--target", "127.0.0.1",
                                  "--ports", ports, "--json"], capture_output=True, text=True, env=env,
                                 cwd=source, timeout=60, check=False)   # how a lab node runs it
    assert done.returncode == 0, done.stdout + done.stderr
    assert verdicts(json.loads(done.stdout)) == {"tcp-open": ["ok", "reset"]}
    assert in_node.returncode == 0, in_node.stderr
    assert verdicts(json.loads(in_node.stdout)) == {"tcp-open": ["ok", "reset"]}
    clean = {k: v for k, v in env.items() if k != "PYTHONPATH"}
    absent = natsim(["probe", "tcp-open", "--target", "127.0.0.1"], clean, source)
    assert absent.returncode == 2 and "invalid choice: 'tcp-open'" in absent.stderr

"""natsim as a wheel: built, installed non-editable into a fresh venv outside the checkout, and run.

No network: the wheel is built without build isolation from a copy of the sources (so the checkout
gets no ``build/``), and the fresh venv sees natsim's dependencies through a ``.pth`` line naming the
test venv's site-packages. Directories named by a ``.pth`` file are not scanned for ``.pth`` files
themselves, so the checkout's editable install of natsim stays invisible there: the fresh venv
imports only the natsim the wheel installed (checked). Its ``natsim`` runs with cwd outside the
checkout, finding the shipped scenarios, schema, topologies and presets by name.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from collections.abc import Sequence
from pathlib import Path

import pytest

import natsim
from tests.unit.netutil import stop

pytestmark = pytest.mark.e2e
CHECKOUT = Path(__file__).resolve().parents[2]
#: Package data the wheel must carry: the project's top-level scenarios/, topologies/ and presets/,
#: inside natsim/.
DATA = sorted(f"natsim/{p.relative_to(CHECKOUT).as_posix()}"
              for pattern in ("scenarios/*.yaml", "scenarios/*.json", "topologies/*.py", "presets/*.yaml")
              for p in CHECKOUT.glob(pattern))


class Installed:
    """The built wheel and the fresh venv it is installed into."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.venv = root / "venv"
        self.work = root / "work"  # cwd of every command: neither the checkout nor the venv

    @property
    def wheel(self) -> Path:
        (wheel,) = (self.root / "dist").glob("natsim-*.whl")
        return wheel

    def run(self, tool: str, args: Sequence[str], timeout: float = 300) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
        return subprocess.run([str(self.venv / "bin" / tool), *args], capture_output=True, text=True,
                              cwd=self.work, env=env, timeout=timeout, check=False)


def _check(done: subprocess.CompletedProcess[str], what: str) -> None:
    assert done.returncode == 0, f"{what} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    """natsim built into a wheel and installed (not editable) into a fresh venv."""
    inst = Installed(tmp_path_factory.mktemp("wheel"))
    source = inst.root / "source"
    source.mkdir()
    for name in ("pyproject.toml", "setup.py", "README.md"):
        shutil.copy2(CHECKOUT / name, source / name)
    for folder in ("natsim", "scenarios", "topologies", "presets"):
        shutil.copytree(CHECKOUT / folder, source / folder, ignore=shutil.ignore_patterns("__pycache__"))
    _check(subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-index",
                           "--no-build-isolation", "-w", str(inst.root / "dist"), str(source)],
                          capture_output=True, text=True, timeout=300, check=False),
           "pip wheel (natsim's venv needs setuptools >= 70.1)")
    _check(subprocess.run([sys.executable, "-m", "venv", str(inst.venv)],
                          capture_output=True, text=True, timeout=300, check=False), "python -m venv")
    site = subprocess.run([str(inst.venv / "bin" / "python"), "-c",
                           "import sysconfig; print(sysconfig.get_path('purelib'))"],
                          capture_output=True, text=True, check=True).stdout.strip()
    (Path(site) / "natsim-test-deps.pth").write_text(sysconfig.get_path("purelib") + "\n")
    inst.work.mkdir()
    _check(inst.run("pip", ["install", "--quiet", "--no-deps", "--no-index", str(inst.wheel)]),
           "pip install WHEEL")
    return inst


def test_the_wheel_carries_the_scenarios_schema_and_topologies(installed: Installed) -> None:
    assert not (CHECKOUT / "natsim" / "scenarios").exists()   # the project keeps them at the top level
    assert not (CHECKOUT / "natsim" / "topologies").exists()
    assert "natsim/scenarios/scenario.schema.json" in DATA
    assert "natsim/scenarios/isp-modem-bridge-1h.yaml" in DATA
    assert "natsim/topologies/isp_bridge_cgn.py" in DATA
    assert "natsim/presets/aws-nlb.yaml" in DATA
    with zipfile.ZipFile(installed.wheel) as wheel:
        names = set(wheel.namelist())
        (metadata,) = [n for n in names if n.endswith(".dist-info/METADATA")]
        assert f"\nVersion: {natsim.__version__}\n" in wheel.read(metadata).decode()
    assert [n for n in DATA if n not in names] == []
    assert installed.wheel.name == f"natsim-{natsim.__version__}-py3-none-any.whl"


def test_the_installed_natsim_is_the_wheels(installed: Installed) -> None:
    done = installed.run("python", ["-c", "import json, sys, natsim, natsim.lab.topology as t, "
                                    "natsim.scenario as s; print(json.dumps([natsim.__file__, sys.path, "
                                    "str(s.SCENARIO_DIR), str(t.SHIPPED_DIR)]))"])
    _check(done, "import natsim")
    module, path, scenarios, topologies = json.loads(done.stdout)
    package = Path(module).parent
    assert package.is_relative_to(installed.venv.resolve()), module
    assert (Path(scenarios), Path(topologies)) == (package / "scenarios", package / "topologies")
    assert not [p for p in path if p and Path(p).resolve() == CHECKOUT]
    version = installed.run("natsim", ["--version"])
    _check(version, "natsim --version")
    assert version.stdout.strip() == f"natsim {natsim.__version__}"


def test_the_installed_natsim_lists_the_wheels_presets(installed: Installed) -> None:
    done = installed.run("natsim", ["list", "presets", "--json"])
    _check(done, "natsim list presets")
    names = {p.stem for p in (CHECKOUT / "presets").glob("*.yaml")}
    assert set(json.loads(done.stdout)["presets"]) == names
    where = installed.run("python", ["-c", "import natsim.shipped as s; print(s.PRESETS)"])
    _check(where, "natsim.shipped.PRESETS")
    assert Path(where.stdout.strip()).is_relative_to(installed.venv.resolve())


def test_predict_a_shipped_scenario_by_name(installed: Installed) -> None:
    done = installed.run("natsim", ["predict", "isp-modem-bridge-1h", "--json"])
    _check(done, "natsim predict isp-modem-bridge-1h")
    here = subprocess.run([sys.executable, "-m", "natsim.cli", "predict", "isp-modem-bridge-1h", "--json"],
                          capture_output=True, text=True, timeout=300, check=True)
    ignore = ("started", "finished")
    got, want = json.loads(done.stdout), json.loads(here.stdout)
    assert {k: v for k, v in got.items() if k not in ignore} == \
        {k: v for k, v in want.items() if k not in ignore}
    verdicts = {p["name"]: {c["verdict"] for c in p["connections"]} for p in got["probes"]}
    assert verdicts == {"send": {"alive", "dead"}, "recv": {"alive"}, "keepalive": {"alive", "dead"}}


@pytest.mark.natsim_netns
def test_run_a_shipped_scenario_by_name(installed: Installed) -> None:
    out = installed.root / "out"
    done = installed.run("natsim", ["run", "pan-ssh-proxy-sshd-backend", "--out", str(out)], timeout=120)
    _check(done, "natsim run pan-ssh-proxy-sshd-backend")
    assert "1 of 1 expectations hold" in done.stdout
    result = json.loads((out / "result.json").read_text())
    assert (result["scenario"], result["source"], result["complete"]) == \
        ("pan-ssh-proxy-sshd-backend", "lab", True)
    (probe,) = result["probes"]
    assert [c["verdict"] for c in probe["connections"]] == ["ok"] * 20


#: What ``pip install natsim`` (no extras) brings: importable packages of the core dependencies.
CORE = ("simpy", "yaml", "_yaml", "argcomplete", "aioice", "dns", "dnspython", "ifaddr")


@pytest.fixture(scope="module")
def light(installed: Installed, tmp_path_factory: pytest.TempPathFactory) -> Installed:
    """The same wheel in a venv that has only natsim's core dependencies (no Mininet, matplotlib,
    asyncssh, scapy or rich): they are linked in one by one from the test venv."""
    inst = Installed(tmp_path_factory.mktemp("light"))
    _check(subprocess.run([sys.executable, "-m", "venv", str(inst.venv)],
                          capture_output=True, text=True, timeout=300, check=False), "python -m venv")
    site = Path(subprocess.run([str(inst.venv / "bin" / "python"), "-c",
                                "import sysconfig; print(sysconfig.get_path('purelib'))"],
                               capture_output=True, text=True, check=True).stdout.strip())
    deps = inst.root / "core-deps"
    deps.mkdir()
    source = Path(sysconfig.get_path("purelib"))
    for entry in source.iterdir():
        name = entry.name.split("-")[0].lower()
        if name in CORE or name == "pyyaml":
            (deps / entry.name).symlink_to(entry)
    (site / "natsim-core-deps.pth").write_text(f"{deps}\n")
    inst.work.mkdir()
    _check(inst.run("pip", ["install", "--quiet", "--no-deps", "--no-index", str(installed.wheel)]),
           "pip install WHEEL (light)")
    return inst


def _free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _listens(port: int) -> bool:
    """Whether something accepts TCP connections on 127.0.0.1:``port``."""
    import socket
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def test_light_install_has_no_lab_plots_or_ssh(light: Installed) -> None:
    for module in ("mininet", "matplotlib", "asyncssh", "scapy", "rich"):
        done = light.run("python", ["-c", f"import {module}"])
        assert done.returncode != 0 and "ModuleNotFoundError" in done.stderr, module


def test_light_install_serves_probes_and_predicts(light: Installed) -> None:
    import time
    echo, sleep = _free_port(), _free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    server = subprocess.Popen([str(light.venv / "bin" / "natsim"), "serve", "--bind", "127.0.0.1",
                               "--echo-port", str(echo), "--sleep-port", str(sleep),
                               "--udp-port", "0", "--quiet"],
                              cwd=light.work, env=env)
    try:
        # Wait until the server listens: a refused connection is a probe verdict ("reset", exit 0) since
        # each connection gets its own, so the probe's exit status no longer says the server was up
        # (under load the light install's server started after the first probe: CI saw reset, reset).
        deadline = time.monotonic() + 15
        while not _listens(echo):
            assert server.poll() is None, "natsim serve exited"
            assert time.monotonic() < deadline, "natsim serve did not listen within 15 s"
            time.sleep(0.1)
        probe = light.run("natsim", ["probe", "send", "--server", "127.0.0.1", "--port", str(echo),
                                     "--connections", "2", "--first", "1m", "--step", "1m",
                                     "--time-scale", "60", "--json"])
    finally:
        stop(server)
    _check(probe, "natsim probe send")
    assert [c["verdict"] for c in json.loads(probe.stdout)["probes"][0]["connections"]] == ["alive"] * 2
    _check(light.run("natsim", ["predict", "isp-modem-bridge-1h"]), "natsim predict")
    lab = light.run("natsim", ["lab", "home-nat", "--run", "client true"])
    assert lab.returncode == 2 and "pip install 'natsim[lab]'" in lab.stderr, lab.stderr


def test_light_install_serves_stun_and_runs_nat_type(light: Installed) -> None:
    """``natsim serve --stun`` and ``natsim probe nat-type`` on the core dependencies (aioice among
    them): what a VPS and a field user install."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    server = subprocess.Popen([str(light.venv / "bin" / "natsim"), "-v", "serve", "--stun-only",
                               "--stun-address", "127.0.0.1", "--stun-alt-address", "127.0.0.2",
                               "--stun-port", "0", "--stun-alt-port", "0"],
                              cwd=light.work, env=env, stderr=subprocess.PIPE, text=True)
    try:
        assert server.stderr is not None
        line = server.stderr.readline()   # natsim: listening: stun 127.0.0.1:P, 127.0.0.2:P, ...
        assert "listening: stun 127.0.0.1:" in line, line + server.stderr.read()
        port = line.split("127.0.0.1:")[1].split(",")[0]
        probe = light.run("natsim", ["probe", "nat-type", "--stun", f"127.0.0.1:{port}", "--timeout", "1",
                                     "--json"])
    finally:
        stop(server)
        if server.stderr is not None:
            server.stderr.close()
    _check(probe, "natsim probe nat-type")
    assert json.loads(probe.stdout)["probes"][0]["extra"]["classic"] == "open internet"


THIRD_PARTY_SUITE = '''
import pytest

@pytest.mark.natsim_netns
def test_lab_from_the_wheel(natsim_lab):
    lab = natsim_lab("home-nat", {"router": {"idle_timeout": "30m"}}, time_scale=60)
    assert lab.run("client", "ping -c1 -W2 198.51.100.10")[0] == 0

@pytest.mark.natsim_netns
def test_scenario_from_the_wheel(natsim_scenario):
    outcome = natsim_scenario(text=(
        "topology: home-nat\\ntime_scale: 60\\ncaptures: false\\n"
        "probes: [{name: send, kind: tcp-send, options: {connections: 2, step: 1m}}]\\n"
        "expect: {send: {all_alive: true}}\\n"))
    assert outcome.ok, outcome.summary
'''


@pytest.mark.natsim_netns
def test_a_third_party_suite_uses_the_installed_wheels_fixtures(installed: Installed) -> None:
    (installed.work / "test_mine.py").write_text(THIRD_PARTY_SUITE)
    done = installed.run("python", ["-m", "pytest", "-q", "-p", "no:cacheprovider", "--strict-markers",
                                    "--natsim-strict", "test_mine.py"], timeout=300)
    _check(done, "the third-party suite")
    assert "2 passed" in done.stdout
    plugin = installed.run("python", ["-c", "import natsim.pytest_plugin as p; print(p.__file__)"])
    assert str(installed.venv) in plugin.stdout   # the plugin is the wheel's, not the checkout's

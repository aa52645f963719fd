"""``natsim run`` and its output directory: it never writes through a link planted there (issue 16,
finding 2), one run at a time writes it (finding 4), and under sudo exactly what natsim created
becomes the user's (finding 3)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from natsim.outfiles import LOCK_NAME
from tests.tiny import TINY

pytestmark = [pytest.mark.natsim_netns, pytest.mark.e2e]
NATSIM = [sys.executable, "-m", "natsim.cli"]
SHORT = Path(__file__).with_name("short")
#: TINY with its captures, at a time scale that keeps the lab up for several seconds.
CAPTURED = TINY.replace("captures: false", "captures: true").replace("time_scale: 60", "time_scale: 30")
PROBE_CMD = ["--probe-cmd", "client", "true"]
LINK = "is a symbolic link; natsim does not write through links"
TARGET_TEXT = "not natsim's to write\n"
#: Refused before the lab starts.
AT_ONCE = ["result.json", "summary.txt", "survival.png", "pcap", LOCK_NAME]
#: Refused when natsim comes to write them (the lab is up, or the run has ended).
LATER = ["pcap/router-eth0.pcap", "pcap/capture.json", "serve-server.log", "client-send-send.log",
         "probe-cmd-1.out"]
#: Names natsim no longer writes in the output directory: left alone.
UNTOUCHED = ["result.json.tmp", "lab", "client-send-send.json", "send-work"]


def natsim_run(scenario: Path, out: Path, *extra: str,
               env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*NATSIM, "run", str(scenario), "--out", str(out), *extra], capture_output=True,
                          text=True, timeout=600, check=False, env=env)


@pytest.fixture
def scenario(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(CAPTURED)
    return path


def plant(out: Path, name: str, target: Path) -> None:
    (out / name).parent.mkdir(parents=True, exist_ok=True)
    (out / name).symlink_to(target)


@pytest.fixture
def target(tmp_path: Path) -> Path:
    path = tmp_path / "target"
    path.write_text(TARGET_TEXT)
    return path


@pytest.mark.parametrize("name", AT_ONCE + LATER)
def test_run_never_writes_through_a_planted_link(name: str, scenario: Path, target: Path,
                                                 tmp_path: Path) -> None:
    out = tmp_path / "out"
    plant(out, name, target)
    done = natsim_run(scenario, out, *PROBE_CMD)
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.strip().splitlines()[-1] == f"natsim: error: {out / name} {LINK}", done.stderr
    assert target.read_text() == TARGET_TEXT
    if name in AT_ONCE:   # nothing ran, nothing was written
        assert os.listdir(out) == [name]


def test_run_writes_beside_links_it_does_not_need(scenario: Path, target: Path, tmp_path: Path) -> None:
    """``result.json.tmp`` (the old temporary name), ``lab`` and the probes' private files are no
    longer written in the output directory: links there are left as they are."""
    out = tmp_path / "out"
    for name in UNTOUCHED:
        plant(out, name, target)
    done = natsim_run(scenario, out, *PROBE_CMD)
    assert done.returncode == 0, done.stdout + done.stderr
    assert target.read_text() == TARGET_TEXT
    assert all((out / name).is_symlink() for name in UNTOUCHED)
    assert json.loads((out / "result.json").read_text())["complete"]


def test_ssh_run_never_writes_through_linked_directories(tmp_path: Path) -> None:
    """The SSH scenarios' logs (the proxy's in ``lab/``, each probe's in ``NAME-work/``) are copied
    in when the run ends, never through a link to a directory."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    for name in ("lab", "first-go-work"):
        out = tmp_path / name
        plant(out, name, elsewhere)
        done = natsim_run(SHORT / "pan-ssh-proxy-go-backend.yaml", out)
        assert done.returncode == 2, done.stdout + done.stderr
        assert done.stderr.strip().splitlines()[-1] == f"natsim: error: {out / name} {LINK}"
        assert json.loads((out / "result.json").read_text())["probes"]   # measured, then refused
    assert os.listdir(elsewhere) == []


def test_three_runs_sharing_an_output_directory(scenario: Path, tmp_path: Path) -> None:
    """One run writes the directory; the two others refuse at once, naming it; nothing is lost."""
    out = tmp_path / "out"
    runs = [subprocess.Popen([*NATSIM, "run", str(scenario), "--out", str(out)], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True) for _ in range(3)]
    done = [(run.pid, run.wait(timeout=600), *run.communicate()) for run in runs]
    codes = sorted(code for _, code, _, _ in done)
    assert codes == [0, 2, 2], done
    (winner,) = [pid for pid, code, _, _ in done if code == 0]
    for _, code, _, err in done:
        if code == 2:
            assert err.strip().splitlines()[-1] == (
                f"natsim: error: {out} is in use by another natsim run (pid {winner}: natsim run "
                f"{scenario} --out {out}); natsim writes an output directory from one run at a time")
    result = json.loads((out / "result.json").read_text())
    assert result["complete"] and [len(p["connections"]) for p in result["probes"]] == [3]
    manifest = json.loads((out / "pcap" / "capture.json").read_text())
    pcaps = [link["file"] for link in manifest["links"]]
    assert sorted(os.listdir(out / "pcap")) == sorted(["capture.json", *pcaps])
    assert all(link["packets"] > 0 for link in manifest["links"])
    assert sorted(os.listdir(out)) == ["client-send-send.log", "pcap", "result.json", "serve-server.log",
                                       "summary.txt", "survival.png"]


@pytest.mark.natsim_root   # giving files to another user needs root on the host
def test_under_sudo_exactly_what_natsim_created_is_the_users(scenario: Path, tmp_path: Path) -> None:
    """A root-owned file another program writes into the output directory during the run keeps its
    owner; everything natsim wrote, and the directory it made, become the sudo user's."""
    nobody = 65534
    out = tmp_path / "out"
    env = {**os.environ, "SUDO_UID": str(nobody), "SUDO_GID": str(nobody)}
    done = natsim_run(scenario, out, "--probe-cmd", "client", f"touch {out}/someone-else.txt", env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    owners = {str(p.relative_to(out)): p.lstat().st_uid for p in out.rglob("*")}
    assert owners.pop("someone-else.txt") == 0
    assert set(owners) >= {"result.json", "summary.txt", "survival.png", "probe-cmd-1.out", "pcap",
                           "pcap/capture.json", "pcap/router-eth0.pcap", "serve-server.log"}
    assert set(owners.values()) == {nobody}, owners
    assert out.stat().st_uid == nobody
